"""How a logged-in staff member is found again on each request."""

from django.contrib.auth.backends import ModelBackend

from .models import User


class StaffBackend(ModelBackend):
    """Django's ModelBackend, which loads the user together with their organisation: every
    staff request asks for it (is the organisation active, where may they act)."""

    def get_user(self, user_id):
        try:
            user = User._default_manager.select_related("organisation").get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
