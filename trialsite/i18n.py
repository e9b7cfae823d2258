"""The type of user-facing text: a string, or a lazy translation shown in the reader's language."""

from typing import TYPE_CHECKING

from django.utils.functional import Promise

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise
else:
    StrOrPromise = str | Promise

__all__ = ["StrOrPromise"]
