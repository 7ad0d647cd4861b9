"""Token authentication that says which scheme it wants: ``Authorization: Token <key>``.

DRF's TokenAuthentication ignores any other scheme, so a client sending ``Bearer <key>`` (the usual
OAuth habit) heard "Authentication credentials were not provided". Here any other scheme than
``Token`` (sessions send none) is a 401 naming the one to use.
"""

from rest_framework import authentication, exceptions


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if header and header[0].lower() != self.keyword.lower().encode():
            scheme = header[0][:20].decode("latin-1")
            raise exceptions.AuthenticationFailed(
                f"Unsupported authorization scheme {scheme!r}: use Authorization: Token <key>."
            )
        return super().authenticate(request)
