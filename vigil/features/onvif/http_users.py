"""ONVIF users (device service GetUsers, CreateUsers, SetUser, DeleteUsers): the accounts of
the accounts store that carry the ONVIF flag, their user level following their role
(Administrator = administrator, Operator = operator, User = viewer, the manual's media
account). The first one turns ONVIF on. A request is checked in full before anything changes;
each change is audited by the accounts store."""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree

from vigil.core.accounts import (
    MAX_ACCOUNTS,
    PROTECTED_NAME,
    AccountError,
    Accounts,
    check_name,
    check_password,
)
from vigil.core.auth import Principal
from vigil.features.onvif.const import (
    OPERATION_PROHIBITED,
    READ_SYSTEM_SECRET,
    ROLE_OF_LEVEL,
    TDS,
    TER,
    USER_LEVEL,
    WRITE_SYSTEM,
)
from vigil.features.onvif.endpoint import OnvifEndpoint
from vigil.features.onvif.xml import TDS_, TT_, find, find_all, invalid, text
from vigil.http.soap import SoapFault, SoapMessage, sender

MAX_USERS_PER_REQUEST = 100


def prohibited(reason: str, detail: str) -> SoapFault:
    return sender(reason, OPERATION_PROHIBITED, etree.QName(TER, detail))


class UserService:
    def __init__(self, accounts: Accounts, drop_sessions: Callable[[str], None]) -> None:
        self.accounts = accounts
        self.drop_sessions = drop_sessions  # an account removed or with a new password loses its sessions

    def _users(self, msg: SoapMessage, with_password: bool) -> list[tuple[str, str | None, str]]:
        users = find_all(msg.body, "User")
        if not users:
            raise invalid(f"{etree.QName(msg.body).localname} needs at least one User")
        if len(users) > MAX_USERS_PER_REQUEST:
            raise invalid(f"At most {MAX_USERS_PER_REQUEST} users per request")
        out = []
        for user in users:
            name = text(user, "Username", required=True, limit=64) or ""
            password_el = find(user, "Password")  # as given: spaces are characters of a password
            password = None if password_el is None else (password_el.text or "")
            level = text(user, "UserLevel", required=True) or ""
            if level == "Anonymous":
                raise prohibited("Anonymous users are not allowed", "AnonymousNotAllowed")
            if level not in ROLE_OF_LEVEL:
                raise invalid(f"UserLevel must be Administrator, Operator or User, not {level[:40]!r}")
            if with_password and password is None:
                raise invalid(f"The user {name} needs a Password")
            try:
                check_name(name)
                if password is not None:
                    check_password(password)
            except AccountError as err:
                raise prohibited(str(err), "PasswordTooLong" if err.kind == "password" else "UsernameTooLong") from None
            if any(name == seen for seen, _, _ in out):
                raise prohibited(f"The user {name} is given more than once", "UsernameClash")
            out.append((name, password, level))
        return out

    async def get_users(self, msg: SoapMessage, who: Principal) -> etree._Element:
        return TDS_.GetUsersResponse(*(TDS_.User(TT_.Username(a.name), TT_.UserLevel(USER_LEVEL[a.role]))
                                       for a in self.accounts.all() if a.onvif))

    async def create_users(self, msg: SoapMessage, who: Principal) -> etree._Element:
        users = self._users(msg, with_password=True)
        for name, _, _ in users:
            if self.accounts.get(name) is not None:
                raise prohibited(f"An account named {name} exists already", "UsernameClash")
        if len(self.accounts.all()) + len(users) > MAX_ACCOUNTS:
            raise prohibited(f"At most {MAX_ACCOUNTS} accounts are allowed", "TooManyUsers")
        for name, password, level in users:
            assert password is not None
            self._apply(lambda n=name, p=password, lv=level: self.accounts.add(
                n, p, ROLE_OF_LEVEL[lv], False, "", who.name, onvif=True))
        return TDS_.CreateUsersResponse()

    async def set_user(self, msg: SoapMessage, who: Principal) -> etree._Element:
        users = self._users(msg, with_password=False)
        for name, _, _ in users:
            account = self.accounts.get(name)
            if account is None or not account.onvif:
                raise invalid(f"There is no ONVIF user {name}", "UsernameMissing")
        for name, password, level in users:
            self._apply(lambda n=name, p=password, lv=level: self.accounts.update(
                n, who.name, password=p, role=ROLE_OF_LEVEL[lv]))
            if password is not None:
                self.drop_sessions(name)
        return TDS_.SetUserResponse()

    async def delete_users(self, msg: SoapMessage, who: Principal) -> etree._Element:
        names = [(e.text or "").strip() for e in find_all(msg.body, "Username")]
        if not names:
            raise invalid("DeleteUsers needs at least one Username")
        for name in names:
            account = self.accounts.get(name)
            if account is None or not account.onvif:
                raise invalid(f"There is no ONVIF user {name[:64]}", "UsernameMissing")
            if name == PROTECTED_NAME:
                raise prohibited("The root account cannot be deleted", "FixedUser")
        for name in dict.fromkeys(names):
            self._apply(lambda n=name: self.accounts.remove(n, who.name))
            self.drop_sessions(name)
        return TDS_.DeleteUsersResponse()

    @staticmethod
    def _apply(change) -> None:
        try:
            change()
        except AccountError as err:
            detail = {"limit": "TooManyUsers", "exists": "UsernameClash", "last-admin": "FixedUser",
                      "protected": "FixedUser", "initial": "FixedUser"}.get(err.kind, "InvalidArgVal")
            raise prohibited(str(err), detail) from None


def register(endpoint: OnvifEndpoint, service: UserService) -> None:
    endpoint.add(TDS, "GetUsers", READ_SYSTEM_SECRET, service.get_users)
    endpoint.add(TDS, "CreateUsers", WRITE_SYSTEM, service.create_users)
    endpoint.add(TDS, "SetUser", WRITE_SYSTEM, service.set_user)
    endpoint.add(TDS, "DeleteUsers", WRITE_SYSTEM, service.delete_users)
