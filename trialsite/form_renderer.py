"""How forms draw their widgets: Django's own form templates in their Jinja2 copies.

Django ships every template under django/forms/ twice, in its template language and compiled to
Python by Jinja2, with the same markup. The entry form draws about 65 widgets, and the Jinja2
copies take about a third off the time it takes to open (docs/performance.md). Other widget
templates (the admin's) exist only in the Django template language and are drawn with it.
"""

from typing import Any

from django.forms.renderers import BaseRenderer, DjangoTemplates, Jinja2


class FormRenderer(BaseRenderer):
    """Draw django/forms/ templates with Jinja2, any other with the Django template language."""

    def __init__(self) -> None:
        self.jinja2 = Jinja2()
        self.django_templates = DjangoTemplates()

    def get_template(self, template_name: str) -> Any:
        if template_name.startswith("django/forms/"):
            return self.jinja2.get_template(template_name)
        return self.django_templates.get_template(template_name)
