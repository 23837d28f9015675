"""Sign-up that does not tell whether an address is registered.

allauth hides an existing address only under mandatory e-mail verification; sign-in
here verifies optionally (clients and staff created before never confirmed theirs).
So sign-up alone is made mandatory: a new address and a registered one both get "we
sent you an e-mail" (a confirmation link, or a note that the account exists), and the
link signs the new client in (ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION).
"""

from allauth.account import app_settings as account_settings
from allauth.account.internal import flows
from allauth.account.models import Login
from allauth.account.views import SignupView as AllauthSignupView
from allauth.core.exceptions import ImmediateHttpResponse


class SignupView(AllauthSignupView):
    def form_valid(self, form):
        if getattr(form, "account_already_exists", False):
            # allauth's own answer for a registered address under mandatory verification:
            # "account already exists" mailed to the owner, the same page shown.
            return flows.login.perform_login(self.request, Login(
                user=None, email=form.cleaned_data["email"], signup=True,
                email_verification=account_settings.EmailVerificationMethod.MANDATORY))
        self.user = form.save(self.request)
        try:
            return flows.signup.complete_signup(
                self.request, user=self.user, redirect_url=self.get_success_url(),
                email_verification=account_settings.EmailVerificationMethod.MANDATORY,
                by_passkey=form.by_passkey)
        except ImmediateHttpResponse as error:
            return error.response


signup = SignupView.as_view()
