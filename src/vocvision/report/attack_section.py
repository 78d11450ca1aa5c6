"""Section 4 of the hand-in: 4.1 the goal and why, 4.2 the method (the generator network the
assignment asks for, PGD as its upper bound, the rest of the suite), 4.3 how visible the
perturbations are, 4.4 the results, from attacks/results.json."""

from __future__ import annotations

from ..runfolder import AttackResults, AttackRow, RunFolder, RunInfo
from .document import Bullets, Paragraph, Section, Table, figures_matching, number
from .findings import attack_findings

WHY = {
    "classifier": (
        "Adding a class that is not there is the attack that most needs a network: the "
        "model must be convinced of evidence that does not exist, without losing what it "
        "does see. The default is the rarest training class, the one the model has the "
        "least evidence for; in the real world this is a sticker that makes a camera report "
        "a stop sign, or an object a content filter should flag."
    ),
    "segmenter": (
        "Painting every pixel with one class makes the objects vanish from the mask: the "
        "default, background, is the failure that matters most for a car's perception (a "
        "pedestrian not segmented is a pedestrian not seen) or for a tumour in a scan."
    ),
}
GENERATOR = (
    "The perturbation generator is itself a CNN (Poursaeed et al. 2018): a small U-Net maps "
    "an image to its perturbation in one forward pass, delta = eps * tanh(h), so the budget "
    "holds by construction. It is trained on the run's training images against the frozen "
    "model, minimising the model's loss towards the goal; an eps curriculum starts at twice "
    "the budget and random flips and crops make it learn patterns that carry to unseen "
    "images. It is judged on validation images it never saw, beside a targeted PGD for the "
    "same goal on the same images: PGD optimises each image separately, so it is the upper "
    "bound of what the budget allows."
)


def attack_section(folder: RunFolder, info: RunInfo) -> Section:
    section = Section("Adversarial attacks")
    results = folder.read_attacks()
    if results is None:
        return section.add(Paragraph("No attacks were run (`vocvision attack RUN`)."))
    generators = [r for r in results.rows if r.attack == "generator"]
    section.subsections += [
        _goal(generators, info),
        _method(results, generators),
        _imperceptibility(folder, results, generators),
        _result(folder, results, generators),
    ]
    return section


def _goal(generators: list[AttackRow], info: RunInfo) -> Section:
    sub = Section("Goal")
    if not generators:
        return sub.add(
            Paragraph(
                "The perturbation generator did not fit this run's time budget (see 4.2); the "
                "targeted PGD rows pursue the suite's goals: one absent class for the "
                "classifier, all background for the segmenter."
            )
        )
    chosen = info.config.attack_goal
    who = f"the goal given with --attack-goal ('{chosen}')" if chosen else "the default goal"
    sub.add(Paragraph(f"Perturb images so that a person sees no change, with {who}:"))
    sub.add(Bullets([f"the {r.model}: {r.goal}" for r in generators]))
    sub.add(*(Paragraph(WHY[r.model]) for r in generators if not chosen))
    return sub


def _method(results: AttackResults, generators: list[AttackRow]) -> Section:
    sub = Section("Method")
    sub.add(Paragraph(f"Threat model: {results.threat_model}.", True))
    if generators:
        trained = "; ".join(
            f"the {r.model}'s {r.trained_on} in {r.fit_seconds:.0f} s" for r in generators
        )
        sub.add(Paragraph(f"{GENERATOR} In this run's time share they trained {trained}."))
    sub.add(
        Paragraph(
            "Around it, the suite measures random noise of the same budget (the baseline "
            "that shows size alone does little), FGSM (one gradient step), PGD (Madry et al. "
            "2018: repeated steps projected back into the budget), a universal perturbation "
            "(one pattern for every image), the transfer of one model's PGD images to the "
            "other, and PGD over a range of budgets."
        )
    )
    if results.skipped:
        sub.add(Paragraph(f"Left out to fit the time budget: {'; '.join(results.skipped)}."))
    return sub


def _imperceptibility(
    folder: RunFolder, results: AttackResults, generators: list[AttackRow]
) -> Section:
    sub = Section("Imperceptibility")
    shown = [r for r in results.rows if r.attack in ("pgd", "generator") and not r.curve]
    shown = [r for r in shown if not r.defence]
    lines = [
        f"{r.model}, {r.name}: at most {r.linf_255:.0f} of 255 intensity levels per pixel, "
        f"PSNR {r.psnr:.1f} dB, SSIM {r.ssim:.3f}"
        for r in shown
    ]
    sub.add(
        Paragraph(
            "The budget is an L-inf bound: no pixel moves by more than eps. PSNR and SSIM "
            "(1 = identical structure) measure how far the attacked image is from the clean "
            "one; the pair below shows one at true scale so the reader can judge by eye."
        ),
        Bullets(lines),
    )
    names = [f"{r.model}_generator_true_scale" for r in generators]
    return sub.add(*figures_matching(folder.layout.attacks_dir, results.figures, names))


def _result(folder: RunFolder, results: AttackResults, generators: list[AttackRow]) -> Section:
    sub = Section("Result")
    sub.add(
        Paragraph(f"{results.images} images of the run's {results.split} split.", True),
    )
    for generator in generators:
        bound = next(
            (
                r
                for r in results.rows
                if r.model == generator.model
                and r.attack == "targeted_pgd"
                and r.goal == generator.goal
                and r.eps_255 == generator.eps_255
            ),
            None,
        )
        before = (
            f" ({generator.clean_success:.0%} before the attack)"
            if generator.clean_success is not None
            else ""
        )
        text = (
            f"The {generator.model}'s generator reaches the goal ({generator.goal}) with a "
            f"success of {generator.success:.0%}{before} on {generator.images} unseen images, "
            f"in one forward pass ({generator.seconds_per_image * 1000:.0f} ms per image)"
        )
        if bound is not None:
            text += (
                f"; PGD-{bound.steps} for the same goal reaches {bound.success:.0%} "
                f"({bound.seconds_per_image:.2f} s per image), the upper bound"
            )
        sub.add(Paragraph(text + "."))
    sub.add(Bullets(attack_findings(results)))
    columns = ("clean", "adversarial", "ratio", "fooling_rate", "success", "psnr", "ssim")
    rows = [
        [r.model, r.name, r.metric, *(number(getattr(r, k), 3) for k in columns)]
        for r in results.rows
    ]
    sub.add(Table(["model", "attack", "metric", *columns], rows, "Every attack measured."))
    pairs = {f"{r.model}_generator_true_scale.png" for r in generators}
    names = [n.removesuffix(".png") for n in results.figures if n not in pairs]
    return sub.add(*figures_matching(folder.layout.attacks_dir, results.figures, names))
