from allauth.account.adapter import DefaultAccountAdapter
from django.urls import reverse


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=False)
        user.name = form.cleaned_data.get("name") or user.name
        if commit:
            user.save()
        return user

    def get_login_redirect_url(self, request):
        if request.user.is_staff:
            return reverse("admin:index")
        return super().get_login_redirect_url(request)
