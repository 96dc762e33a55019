# nbconvert configuration for candor's reports: `jupyter nbconvert --config tools/nbconvert/candor_config.py ...`
#
# 1. Selects the "candor" HTML template next to this file: JupyterLab's template with inline SVG kept intact (nbconvert
#    6.5.x, Debian 12, would empty every chart: jupyter/nbconvert#1849), code cells folded under <details> so the
#    story reads first, and no <script> that loads a file from the rendering machine (require.js, MathJax).
# 2. Executes with an output barrier, so no cell loses output that Deno's kernel publishes after reporting it idle.
import os
import time
import uuid
from queue import Empty

from nbclient.exceptions import CellExecutionComplete
from nbclient.util import ensure_async
from nbconvert.preprocessors import ExecutePreprocessor

c = get_config()  # noqa: F821 (provided by traitlets when the file is loaded)

_here = os.path.dirname(os.path.abspath(__file__))
c.TemplateExporter.extra_template_basedirs = [os.path.join(_here, "templates")]
c.HTMLExporter.template_name = "candor"
# Notebooks are executed with the kernel named in their metadata (deno); a cell error fails the conversion.
# Generous limits: on a busy 2-core CI machine the kernel's first start compiles the library.
c.ExecutePreprocessor.timeout = 600  # seconds per cell
c.ExecutePreprocessor.startup_timeout = 180  # seconds for the kernel to answer
# The barrier below runs inside nbclient's wait for a cell's outputs; if that wait times out, fail instead of
# continuing without the outputs (nbclient's default is a warning).
c.ExecutePreprocessor.iopub_timeout = 120
c.ExecutePreprocessor.raise_on_iopub_timeout = True

BARRIER_TIMEOUT_SECONDS = 120


class OutputBarrierExecutePreprocessor(ExecutePreprocessor):
    """ExecutePreprocessor that collects every output a cell printed, including those Deno's kernel publishes late.

    Deno's kernel forwards the cell's stdout/stderr to Jupyter through a queue, tagged with the execute request that
    is current when a line is forwarded; it can report a cell idle before the queue is drained. nbclient stops
    listening at "idle", so the tail of a cell's printed output was lost (measured: 7 of 12 cells of a notebook that
    prints 350 lines per cell lost lines, every run) or, forwarded after the next request, dropped as well.

    The barrier: after a cell is idle, execute `console.log(<unique marker>)` (not stored in history, so execution
    counts are unchanged). The kernel runs requests in order and its output queue is first in, first out, so when the
    marker arrives everything the cell printed has arrived before it. Stream text that comes in under the barrier's
    request before the marker is the cell's late output and is added to the cell. Displays (charts, tables) are sent
    by the kernel while the cell runs, before "idle", and are collected as usual. No fixed waiting time is involved.
    """

    async def _async_poll_output_msg(self, parent_msg_id, cell, cell_index):
        await super()._async_poll_output_msg(parent_msg_id, cell, cell_index)
        await self._collect_until_barrier(parent_msg_id, cell, cell_index)

    async def _collect_until_barrier(self, parent_msg_id, cell, cell_index):
        marker = f"candor-output-barrier-{uuid.uuid4().hex}"
        barrier_id = self.kc.execute(
            f'console.log("{marker}");', silent=False, store_history=False, allow_stdin=False
        )
        deadline = time.monotonic() + BARRIER_TIMEOUT_SECONDS
        seen_marker = False
        seen_idle = False
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RuntimeError(
                    f"cell {cell_index + 1}: the kernel did not answer the output barrier within "
                    f"{BARRIER_TIMEOUT_SECONDS} s, so the cell's output may be incomplete"
                )
            try:
                msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=remaining))
            except Empty:
                continue
            parent = msg["parent_header"].get("msg_id")
            if parent == parent_msg_id:
                try:
                    self.process_message(msg, cell, cell_index)
                except CellExecutionComplete:
                    pass
                continue
            if parent != barrier_id:
                continue
            msg_type = msg["msg_type"]
            if msg_type == "stream":
                text = msg["content"].get("text", "")
                if not seen_marker and marker in text:
                    seen_marker = True
                    text = text.replace(marker + "\n", "").replace(marker, "")
                if text:
                    # Printed by the cell (the barrier prints only its marker): the cell's late output.
                    self.process_message(
                        {**msg, "content": {**msg["content"], "text": text}}, cell, cell_index
                    )
            elif msg_type == "error":
                raise RuntimeError(f"cell {cell_index + 1}: the output barrier failed: {msg['content']}")
            elif msg_type == "status" and msg["content"].get("execution_state") == "idle":
                # The barrier's own marker can arrive after its "idle" too: wait for both.
                seen_idle = True
            if seen_marker and seen_idle:
                return


# `--execute` enables "ExecutePreprocessor", whose settings (timeouts above) this subclass inherits.
c.Exporter.default_preprocessors = [
    OutputBarrierExecutePreprocessor if p == "nbconvert.preprocessors.ExecutePreprocessor" else p
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
