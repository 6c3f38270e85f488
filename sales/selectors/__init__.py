"""Sales reads, with the visibility rules: who may see which deals, accounts and tasks.

The package, by part: ``visibility`` (which deals, accounts, contacts and tasks a user may
see, and the ``*_get_for`` lookups that 404 on the rest), ``conversion`` (the existing
account a lead's person belongs to), ``pipelines`` (a user's pipelines, a team's default,
the won and lost reasons), ``board`` (the kanban board, the deal list and their totals),
``today`` (the Today page), ``records`` (the deal, account and contact pages, a deal's
story, the account list) and ``person_data`` (one person's sales records, for export). The
names other code uses (``handoff`` imports this package as ``sales_selectors``) are
re-exported here, so callers need not know the parts.
"""

from sales.selectors.board import (
    Column,
    DealFilter,
    Money,
    board_value,
    deal_list,
    deal_owners_for,
    pipeline_board,
    pipeline_value,
)
from sales.selectors.conversion import AccountMatch, account_match
from sales.selectors.person_data import person_data_for_lead
from sales.selectors.pipelines import close_reasons, default_pipeline, pipelines_for
from sales.selectors.records import (
    SUBJECT_SOURCES,
    StoryEntry,
    account_list,
    account_page,
    contact_page,
    deal_story,
)
from sales.selectors.today import (
    StaleDeal,
    deals_closed_recently_for,
    stale_deals_for,
    tasks_due_for,
    tasks_upcoming_for,
)
from sales.selectors.visibility import (
    account_get_for,
    accounts_visible_to,
    contact_get_for,
    contacts_visible_to,
    deal_get_for,
    deals_visible_to,
    task_get_for,
    tasks_visible_to,
)

# BOARD_CARDS_PER_COLUMN is not re-exported: it is read in sales.selectors.board, so that is
# where a test patches it; a copy here would take a patch and change nothing.
__all__ = [
    "SUBJECT_SOURCES",
    "AccountMatch",
    "Column",
    "DealFilter",
    "Money",
    "StaleDeal",
    "StoryEntry",
    "account_get_for",
    "account_list",
    "account_match",
    "account_page",
    "accounts_visible_to",
    "board_value",
    "close_reasons",
    "contact_get_for",
    "contact_page",
    "contacts_visible_to",
    "deal_get_for",
    "deal_list",
    "deal_owners_for",
    "deal_story",
    "deals_closed_recently_for",
    "deals_visible_to",
    "default_pipeline",
    "person_data_for_lead",
    "pipeline_board",
    "pipeline_value",
    "pipelines_for",
    "stale_deals_for",
    "task_get_for",
    "tasks_due_for",
    "tasks_upcoming_for",
    "tasks_visible_to",
]
