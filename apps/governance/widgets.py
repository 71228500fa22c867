"""Links to uploaded files in forms and the admin, through the views that check who may see them.

Nothing under MEDIA_ROOT is served by a URL of its own, so a stored file's `.url` (MEDIA_URL
plus its name) leads nowhere. Django's file input and the admin's read-only display both
link there; the widget and helper below link to the checked view instead (for an action:
console:photo, for a tip: console:tip_photo, for a mailing: mail_public:image, for a
response: mail_inbox:photo). The link shows a label, never the file name.
"""

from django import forms
from django.contrib.admin.widgets import AdminFileWidget
from django.db.models.fields.files import FieldFile
from django.utils.html import format_html


class CheckedFile:
    """The current file as the file input's template shows it: `url` is the checked view's
    address, `str()` the link text."""

    def __init__(self, url: str, label):
        self.url = url
        self.label = label

    def __str__(self) -> str:
        return str(self.label)


class CheckedFileInput(forms.ClearableFileInput):
    """A clearable file input whose "Huidige" link goes to a checked view.

    `url_for(instance)` gives the view's address for the model instance that holds the
    file, e.g. `lambda action: reverse("console:photo", args=[action.pk])`; `label` is the
    link text (the file name may be a citizen's, and says nothing to the reader).
    """

    def __init__(self, attrs=None, *, url_for, label):
        super().__init__(attrs)
        self.url_for = url_for
        self.label = label

    def is_initial(self, value) -> bool:
        """A stored file of a saved object (not an upload in this request): its `.url` is
        never asked for."""
        return (
            isinstance(value, FieldFile)
            and bool(value)
            and getattr(value.instance, "pk", None) is not None
        )

    def format_value(self, value):
        if self.is_initial(value):
            return CheckedFile(self.url_for(value.instance), self.label)
        return None


class AdminCheckedFileInput(CheckedFileInput):
    """The same, in the admin's layout."""

    template_name = AdminFileWidget.template_name


def checked_link(url: str, label):
    """A read-only admin field's link to a stored file through its checked view."""
    return format_html('<a href="{}">{}</a>', url, label)
