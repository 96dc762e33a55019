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
