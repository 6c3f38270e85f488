"""Who may see which deals, accounts, contacts and tasks, and the single-record lookups
that answer 404 for what a user may not see."""

from __future__ import annotations

from django.db.models import (
    Q,
    QuerySet,
)
from django.http import Http404

from leadflow.models import Role, Team, User
from sales.models import (
    Account,
    Contact,
    Deal,
    Task,
)


def _sees_everything(user: User) -> bool:
    return user.is_superuser or user.role == Role.ADMIN


def _team_shares(user: User) -> bool:
    return bool(user.team_id and user.team and user.team.visibility == Team.Visibility.SHARED)


def deals_visible_to(user: User) -> QuerySet[Deal]:
    """Reps: their own deals, or the team's when the team shares; managers: their team's
    (a manager without a team, and admins, see all); marketers: none."""
    deals = Deal.objects.all()
    if _sees_everything(user):
        return deals
    if user.role == Role.MANAGER:
        return deals.filter(team_id=user.team_id) if user.team_id else deals
    if user.role == Role.REP:
        if _team_shares(user):
            return deals.filter(Q(owner=user) | Q(team_id=user.team_id))
        return deals.filter(owner=user)
    return deals.none()


def accounts_visible_to(user: User) -> QuerySet[Account]:
    """An account is visible with one of its deals, or to its owner; a manager (and a rep
    of a sharing team) also sees the team's accounts."""
    accounts = Account.objects.all()
    if _sees_everything(user) or (user.role == Role.MANAGER and not user.team_id):
        return accounts
    if user.role not in (Role.REP, Role.MANAGER):
        return accounts.none()
    # A semi-join (IN), not a correlated EXISTS: Postgres hashes the visible deals' accounts
    # once instead of probing deals for every account.
    with_deal = Q(pk__in=deals_visible_to(user).values("account_id"))
    mine = Q(owner=user)
    if user.role == Role.MANAGER or _team_shares(user):
        mine |= Q(team_id=user.team_id)
    return accounts.filter(mine | with_deal)


def contacts_visible_to(user: User) -> QuerySet[Contact]:
    return Contact.objects.filter(account__in=accounts_visible_to(user))


def tasks_visible_to(user: User) -> QuerySet[Task]:
    """A rep's own tasks and the tasks on deals they see; a manager's team's tasks."""
    tasks = Task.objects.all()
    if _sees_everything(user):
        return tasks
    if user.role not in (Role.REP, Role.MANAGER):
        return tasks.none()
    on_visible_deal = Q(deal__in=deals_visible_to(user))
    if user.role == Role.MANAGER:
        return (
            tasks.filter(Q(owner__team_id=user.team_id) | on_visible_deal)
            if user.team_id
            else tasks
        )
    return tasks.filter(Q(owner=user) | on_visible_deal)


def deal_get_for(*, user: User, deal_id: int) -> Deal:
    """The deal if this user may see it, else 404 (existence is not leaked)."""
    deal = (
        deals_visible_to(user)
        .select_related(
            "account",
            "contact",
            "owner",
            "pipeline",
            "stage",
            "first_touch__campaign",
            "last_touch__campaign",
        )
        .filter(pk=deal_id)
        .first()
    )
    if deal is None:
        raise Http404
    return deal


def account_get_for(*, user: User, account_id: int) -> Account:
    account = (
        accounts_visible_to(user).select_related("owner", "team").filter(pk=account_id).first()
    )
    if account is None:
        raise Http404
    return account


def contact_get_for(*, user: User, contact_id: int) -> Contact:
    contact = contacts_visible_to(user).select_related("account").filter(pk=contact_id).first()
    if contact is None:
        raise Http404
    return contact


def task_get_for(*, user: User, task_id: int) -> Task:
    task = tasks_visible_to(user).filter(pk=task_id).first()
    if task is None:
        raise Http404
    return task
