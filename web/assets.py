"""The bpmn-js viewer, served by govflow from node_modules (installed by `npm ci`).

No CDN: the bundle and its stylesheets come from this server. If `npm ci` was not run
the files are missing; pages then say so and fall back to a list of steps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, send_from_directory

bp = Blueprint("assets", __name__, url_prefix="/assets")
BUNDLE = "dist/bpmn-navigated-viewer.production.min.js"
FILES = {
    "bpmn-viewer.js": BUNDLE,
    "diagram-js.css": "dist/assets/diagram-js.css",
    "bpmn-js.css": "dist/assets/bpmn-js.css",
    "bpmn-modeler.js": "dist/bpmn-modeler.production.min.js",
    "bpmn-font.css": "dist/assets/bpmn-font/css/bpmn.css",
}
# The icon fonts of the modelers; their stylesheets ask for them at ../font/
FONTS = {f"{kind}.{ext}": f"../{'bpmn-js' if kind == 'bpmn' else 'dmn-js'}/dist/assets/"
         f"{kind}-font/font" for kind in ("bpmn", "dmn")
         for ext in ("woff2", "woff", "ttf", "eot", "svg")}
# The decision table editor (dmn-js), for administrators
DMN_FILES = {
    "dmn-modeler.js": "dist/dmn-modeler.production.min.js",
    "dmn-js-shared.css": "dist/assets/dmn-js-shared.css",
    "dmn-js-decision-table.css": "dist/assets/dmn-js-decision-table.css",
    "dmn-js-decision-table-controls.css": "dist/assets/dmn-js-decision-table-controls.css",
    "dmn-js-drd.css": "dist/assets/dmn-js-drd.css",
    "dmn-font.css": "dist/assets/dmn-font/css/dmn.css",
}


def bpmn_js_available() -> bool:
    return (Path(current_app.config["BPMN_JS_DIR"]) / BUNDLE).is_file()


@bp.app_context_processor
def _flags() -> dict[str, Any]:
    return {"bpmn_js_available": bpmn_js_available}


@bp.route("/bpmn-js/<name>")
def bpmn_js(name: str) -> Any:
    if name not in FILES:
        abort(404)
    if not bpmn_js_available():
        abort(404, "bpmn-js is not installed: run `npm ci` in the govflow folder.")
    return send_from_directory(current_app.config["BPMN_JS_DIR"], FILES[name], max_age=86400)


@bp.route("/font/<name>")
def bpmn_font(name: str) -> Any:
    if name not in FONTS or not bpmn_js_available():
        abort(404)
    return send_from_directory(Path(current_app.config["BPMN_JS_DIR"]) / FONTS[name], name,
                               max_age=86400)


@bp.route("/dmn-js/<name>")
def dmn_js(name: str) -> Any:
    folder = Path(current_app.config["BPMN_JS_DIR"]).parent / "dmn-js"
    if name not in DMN_FILES or not (folder / DMN_FILES[name]).is_file():
        abort(404)
    return send_from_directory(folder, DMN_FILES[name], max_age=86400)
