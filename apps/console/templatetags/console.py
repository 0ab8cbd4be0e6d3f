from django import template

from apps.console.access import sections_for

register = template.Library()


@register.simple_tag
def console_sections(user) -> list[dict]:
    """The console sections `user` may open, in sidebar order."""
    return sections_for(user)
