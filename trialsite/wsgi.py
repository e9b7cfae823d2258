import os

from django.core.wsgi import get_wsgi_application

from trialsite.memory import freeze_loaded_objects

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialsite.settings")

application = get_wsgi_application()
# Each gunicorn worker loads this module: the site it loaded is left out of garbage collections.
freeze_loaded_objects()
