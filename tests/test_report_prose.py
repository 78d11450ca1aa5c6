"""The report's sentences say what the numbers say: no claim a number contradicts."""

from __future__ import annotations

from vocvision.report.discussion import discussion_section
from vocvision.report.findings import attack_findings
from vocvision.runfolder import AttackResults, AttackRow, Evaluation


def _row(attack: str, ratio: float, **extra) -> AttackRow:
    return AttackRow(
        model="classifier", attack=attack, eps_255=extra.pop("eps_255", 4), metric="dice",
        clean=0.8, adversarial=0.8 * ratio, ratio=ratio, fooling_rate=0.5, linf_255=4,
        l2=1.0, psnr=40.0, ssim=0.97, seconds_per_image=0.1, images=8, **extra,
    )  # fmt: skip


def _results(*rows: AttackRow) -> AttackResults:
    return AttackResults("val", 8, 4 / 255, 10, 20, "white-box", list(rows), {})


def test_a_universal_perturbation_no_better_than_noise_is_said_so():
    weak = _results(_row("noise", 1.03), _row("pgd", 0.0, steps=10),
                    _row("universal", 1.0, eps_255=10))  # fmt: skip
    assert any("did no better than random noise" in line for line in attack_findings(weak))
    strong = _results(_row("noise", 1.03), _row("pgd", 0.0, steps=10),
                      _row("universal", 0.4, eps_255=10))  # fmt: skip
    assert not any("did no better" in line for line in attack_findings(strong))


def _evaluation(per_class_images: list[int], comparisons: dict) -> Evaluation:
    classes = ["a", "b", "c", "d", "e"]
    return Evaluation(
        split="test split (10 images)",
        data={"classes": classes, "class_images": per_class_images, "train_images": 40,
              "val_part": 8},
        training={},
        labelling=None,
        classification=None,
        segmentation={"per_class_iou": [0.1, 0.2, 0.3, 0.8, 0.9], "classes": classes},
        comparisons=comparisons,
        images=10,
    )  # fmt: skip


def _text(evaluation: Evaluation) -> str:
    return " ".join(b.text for b in discussion_section(evaluation, None).blocks)


def test_each_weak_class_gets_the_reason_its_own_count_supports():
    text = _text(_evaluation([2, 30, 3, 20, 20], {}))  # median 20: a and c rare, b common
    assert "a and c are rarer than the median class" in text
    assert "b is not rarer than the median class" in text


def test_the_limits_count_the_comparisons_that_did_not_hold():
    held = {"x": {"verdict": "better"}, "y": {"verdict": "better"}}
    assert "did not" not in _text(_evaluation([5] * 5, held))
    one_not = held | {"z": {"verdict": "within noise"}}
    assert "2 held up under a paired bootstrap and are marked as improvements; the other " \
           "one did not" in _text(_evaluation([5] * 5, one_not))  # fmt: skip


def test_a_targeted_success_comes_with_what_the_clean_images_already_met():
    rows = _results(_row("targeted_pgd", 0.5, success=0.9, clean_success=0.7, goal="x", steps=20))
    assert "PGD-20 targeted (x) 4/255: targeted success 90% (70% clean)." in attack_findings(rows)
