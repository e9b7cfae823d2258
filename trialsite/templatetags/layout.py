"""Template filters for layout on small screens (site.css: phones)."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


@register.filter
def nowrap(value: object) -> SafeString:
    """Keep a value on one line, such as a date (2026-11-29), which would otherwise break at a
    hyphen on a narrow screen. Usable inside {% blocktranslate with %}: the result is safe."""
    return format_html('<span class="text-date">{}</span>', value)
