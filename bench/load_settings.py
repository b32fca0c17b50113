"""Settings for the load benchmark's gunicorn: config.settings with DEBUG turned off afterwards.

The bench databases are encrypted with the development FIELD_ENCRYPTION_KEY (bench.province
runs with the defaults), which config.settings rightly refuses when DEBUG is off. So this
module is imported with DEBUG on and turns it off here, with the production settings that
matter for speed; HTTPS redirects and secure cookies stay off, the server being plain HTTP on
loopback. Never use it outside bench.load_bench.
"""

from config.settings import *  # noqa: F403

DEBUG = False
