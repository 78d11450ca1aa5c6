"""`vocvision app RUN`: a Gradio web app over a run, on 127.0.0.1 by default.

Upload an image (or pick a test image): the predicted labels with their probabilities, the
mask over the image with a legend and the per-class areas, and the mask as a PNG to download.
The attack panel runs FGSM, PGD or targeted PGD on the classifier or the segmenter at a chosen
budget and shows the perturbation (amplified), the adversarial image, the predictions after,
PSNR and SSIM, and the adversarial PNG to download.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from ..workflow.masks import dataset_palette
from .handlers import ATTACKS, MAX_BYTES, UploadError, analyse, attack_image, check_upload

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home from a closed network


def _save_png(image: np.ndarray, name: str, palette: list[int] | None = None) -> str:
    folder = Path(tempfile.mkdtemp(prefix="vocvision-app-"))
    png = Image.fromarray(image, mode="P" if palette else None)
    if palette:
        png.putpalette(palette)
    path = folder / f"{name}.png"
    png.save(path)
    return str(path)


def build_app(run):
    """The Gradio Blocks of the app for a loaded `vocvision.Run`."""
    import gradio as gr  # an optional extra: vocvision[app]

    by_id = {s.id: s.image for s in run.images("test").samples}

    def pick(upload, test_id):
        try:
            return check_upload(upload) if upload else by_id[test_id]
        except KeyError:
            raise gr.Error("upload an image or pick a test image") from None
        except UploadError as err:
            raise gr.Error(str(err)) from None

    with gr.Blocks(title=f"vocvision: {run.root.name}") as app:
        gr.Markdown(
            f"# vocvision: {run.root.name}\n{len(run.classes)} classes: {', '.join(run.classes)}"
        )
        with gr.Row():
            upload = gr.File(label="image (JPEG/PNG)", file_types=["image"], type="filepath")
            test_id = gr.Dropdown(sorted(by_id), label="or a test image", value=None)
        _prediction_panel(gr, run, pick, [upload, test_id])
        _attack_panel(gr, run, pick, [upload, test_id])
    return app


def _prediction_panel(gr, run, pick, image_inputs: list) -> None:
    palette = dataset_palette(run.data_dir)

    def predict(upload, test_id):
        image = pick(upload, test_id)
        a = analyse(run, image)
        mask_file = None if a.mask is None else _save_png(a.mask.astype(np.uint8), "mask", palette)
        return image, a.probabilities, a.overlay, a.legend, a.areas, mask_file

    go = gr.Button("Predict", variant="primary")
    with gr.Row():
        shown = gr.Image(label="image", type="numpy")
        overlay = gr.Image(label="mask", type="numpy")
        labels = gr.Label(label="labels", num_top_classes=len(run.classes))
    legend = gr.HTML()
    areas = gr.Dataframe(headers=["class", "% of the image"], label="per-class areas")
    mask_file = gr.File(label="mask PNG (the dataset's values)")
    outputs = [shown, labels, overlay, legend, areas, mask_file]
    go.click(predict, image_inputs, outputs, api_name="predict")


def _attack_panel(gr, run, pick, image_inputs: list) -> None:
    def attack(upload, test_id, model, method, eps, target):
        view = attack_image(run, pick(upload, test_id), model, method, eps, target)
        text = (
            f"**before:** {', '.join(view.before) or '-'}  \n**after:** "
            f"{', '.join(view.after) or '-'}  \nPSNR {view.psnr:.1f} dB, SSIM {view.ssim:.3f}"
        )
        picture = view.overlay if view.overlay is not None else view.adversarial
        saved = _save_png(view.adversarial, "adversarial")
        return view.perturbation, view.adversarial, picture, text, saved

    gr.Markdown("## Attack")
    trained = list(run.folder.trained_models(run.info))
    with gr.Row():
        model = gr.Radio(trained, value=trained[0], label="model")
        method = gr.Radio(list(ATTACKS), value="FGSM", label="attack")
        eps = gr.Slider(0, 16, value=4, step=1, label="budget (x 1/255)")
        target = gr.Dropdown(run.classes, value=run.classes[0], label="target class")
    hit = gr.Button("Attack")
    with gr.Row():
        delta = gr.Image(label="perturbation (amplified)", type="numpy")
        adversarial = gr.Image(label="adversarial image", type="numpy")
        after = gr.Image(label="prediction on it", type="numpy")
    summary = gr.Markdown()
    adversarial_file = gr.File(label="adversarial PNG")
    outputs = [delta, adversarial, after, summary, adversarial_file]
    hit.click(attack, [*image_inputs, model, method, eps, target], outputs, api_name="attack")


def serve(run, port: int = 7860, host: str = "127.0.0.1", block: bool = True):
    """Start the app on `host`:`port` (127.0.0.1: this machine only); returns the Blocks
    (running in the background unless `block`)."""
    app = build_app(run)
    app.launch(
        server_name=host,
        server_port=port,
        prevent_thread_lock=not block,
        max_file_size=MAX_BYTES,
        ssr_mode=False,
        show_error=True,
        quiet=True,
    )
    return app
