# nbconvert configuration for candor's reports: `jupyter nbconvert --config tools/nbconvert/candor_config.py ...`
#
# Selects the "candor" HTML template next to this file: JupyterLab's template, except that inline SVG outputs are
# emitted intact. nbconvert 6.5.x (Debian 12) runs them through an HTML sanitizer that deletes everything inside
# <svg> (jupyter/nbconvert#1849), which would leave every chart in a report blank.
import os

c = get_config()  # noqa: F821 (provided by traitlets when the file is loaded)

_here = os.path.dirname(os.path.abspath(__file__))
c.TemplateExporter.extra_template_basedirs = [os.path.join(_here, "templates")]
c.HTMLExporter.template_name = "candor"
# Notebooks are executed with the kernel named in their metadata (deno); a cell error fails the conversion.
# Generous limits: on a busy 2-core CI machine the kernel's first start compiles the library.
c.ExecutePreprocessor.timeout = 600  # seconds per cell
c.ExecutePreprocessor.startup_timeout = 180  # seconds for the kernel to answer

# Deno's kernel can publish a cell's last stdout lines or displays after it has reported the cell idle; nbclient
# stops listening at "idle", so those outputs were lost, more often under load (3 runs in 4 of the training-health
# notebook lost a line). This executor keeps listening for the same cell's messages a moment longer after "idle".
import time  # noqa: E402
from queue import Empty  # noqa: E402

from nbclient.exceptions import CellExecutionComplete  # noqa: E402
from nbclient.util import ensure_async  # noqa: E402
from nbconvert.preprocessors import ExecutePreprocessor  # noqa: E402

LATE_OUTPUT_SECONDS = 0.5  # quiet time after "idle" before a cell is considered complete


class LateOutputExecutePreprocessor(ExecutePreprocessor):
    """ExecutePreprocessor that also collects a cell's outputs published shortly after the kernel went idle."""

    async def _async_poll_output_msg(self, parent_msg_id, cell, cell_index):
        await super()._async_poll_output_msg(parent_msg_id, cell, cell_index)
        deadline = time.monotonic() + LATE_OUTPUT_SECONDS
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=remaining))
            except Empty:
                return
            if msg["parent_header"].get("msg_id") != parent_msg_id:
                continue
            try:
                self.process_message(msg, cell, cell_index)
            except CellExecutionComplete:
                pass
            deadline = time.monotonic() + LATE_OUTPUT_SECONDS  # more may follow: wait for quiet again


# `--execute` enables "ExecutePreprocessor", whose settings (timeouts above) this subclass inherits.
c.Exporter.default_preprocessors = [
    LateOutputExecutePreprocessor if p == "nbconvert.preprocessors.ExecutePreprocessor" else p
    for p in [
        "nbconvert.preprocessors.TagRemovePreprocessor",
        "nbconvert.preprocessors.RegexRemovePreprocessor",
        "nbconvert.preprocessors.ClearOutputPreprocessor",
        "nbconvert.preprocessors.ExecutePreprocessor",
        "nbconvert.preprocessors.coalesce_streams",
        "nbconvert.preprocessors.SVG2PDFPreprocessor",
        "nbconvert.preprocessors.LatexPreprocessor",
        "nbconvert.preprocessors.HighlightMagicsPreprocessor",
        "nbconvert.preprocessors.ExtractOutputPreprocessor",
        "nbconvert.preprocessors.ClearMetadataPreprocessor",
    ]
]
