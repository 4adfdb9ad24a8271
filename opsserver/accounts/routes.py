"""Token and account endpoints."""

from flask import g, request
from flask.views import MethodView
from sqlalchemy import select

from ..blueprint import Blueprint
from ..errors import PROBLEM_MIMETYPE, ProblemSchema
from ..pagination import keyset_page
from . import services
from .auth import current_principal, roles_required
from .models import Account
from .schemas import (AccountCreateSchema, AccountListSchema, AccountPatchSchema, AccountQuerySchema,
                      AccountSchema, TokenRequestSchema, TokenResponseSchema)

blp = Blueprint("accounts", __name__, url_prefix="/api/v1", description="Log in, log out, manage accounts")


@blp.route("/auth/token")
class TokenResource(MethodView):
    @blp.doc(security=[])
    @blp.arguments(TokenRequestSchema())
    @blp.response(200, TokenResponseSchema)
    @blp.alt_response(401, schema=ProblemSchema, description="Unknown username or wrong password",
                      content_type=PROBLEM_MIMETYPE)
    @blp.alt_response(429, schema=ProblemSchema, description="Too many failed logins or attempts",
                      content_type=PROBLEM_MIMETYPE)
    def post(self, body):
        """Exchange a username and password for a bearer token."""
        raw, token, account = services.login(body["username"], body["password"], request.remote_addr)
        return {"access_token": raw, "token_type": "Bearer", "expires_at": token.expires_at,
                "role": account.role, "username": account.username, "crew_id": account.crew_id}


@blp.route("/auth/logout")
class LogoutResource(MethodView):
    @roles_required("crew", "commander", "auditor", "admin")
    @blp.response(204)
    def post(self):
        """Revoke the token used for this request."""
        services.logout(current_principal(), g.token)


@blp.route("/accounts")
class AccountsResource(MethodView):
    @roles_required("admin")
    @blp.arguments(AccountQuerySchema(), location="query")
    @blp.response(200, AccountListSchema)
    def get(self, query):
        """List accounts."""
        stmt = select(Account)
        if query.get("role"):
            stmt = stmt.where(Account.role == query["role"])
        return keyset_page(stmt, Account.id, query["limit"], query["cursor"])

    @roles_required("admin")
    @blp.arguments(AccountCreateSchema())
    @blp.response(201, AccountSchema)
    def post(self, body):
        """Create an account (a crew account names its crew member)."""
        return services.create_account(current_principal().username, **body)


@blp.route("/accounts/<username>")
class AccountResource(MethodView):
    @roles_required("admin")
    @blp.arguments(AccountPatchSchema())
    # marshmallow cannot say "at least one field"; the document must, or an empty body would be valid there.
    @blp.doc(requestBody={"content": {"application/json": {"schema": {"allOf": [AccountPatchSchema],
                                                                       "minProperties": 1}}}})
    @blp.response(200, AccountSchema)
    @blp.alt_response(404, schema=ProblemSchema, description="No account with this username",
                      content_type=PROBLEM_MIMETYPE)
    @blp.alt_response(409, schema=ProblemSchema, description="It is the last active admin",
                      content_type=PROBLEM_MIMETYPE)
    def patch(self, body, username):
        """Change an account: `active`, `role`, `password`, `crew_id`. `active: false` (and a new password)
        revokes every bearer token and page session of the account at once; a disabled account cannot log in."""
        return services.update_account(current_principal().username, username, body)


@blp.route("/me")
class MeResource(MethodView):
    @roles_required("crew", "commander", "auditor", "admin")
    @blp.response(200)
    def get(self):
        """Who I am; for a crew account also my shift now (or next), its point, the active round there,
        my point's state in it, the open window and the server's clock (for the phone's offset)."""
        return services.whoami(current_principal())
