"""Imports every domain's models so that ``Base.metadata`` knows all tables (Alembic, tests)."""


def import_all_models() -> None:
    import qianbao.banking.models
    import qianbao.disputes.models
    import qianbao.finance.models
    import qianbao.identity.models
    import qianbao.identity.models_kyc
    import qianbao.kernel.outbox
    import qianbao.ledger.models
    import qianbao.merchants.models
    import qianbao.merchants.models_agents
    import qianbao.merchants.models_payments
    import qianbao.moneyconf.models
    import qianbao.notifications.inbox
    import qianbao.rails.models
    import qianbao.risk.models
    import qianbao.support.channels.models
    import qianbao.support.chat.models
    import qianbao.support.console.models
    import qianbao.support.console.models_topups
    import qianbao.support.helpcenter.models
    import qianbao.support.im.models
    import qianbao.support.rota.models
    import qianbao.support.tickets.models
    import qianbao.wallet.models
    import qianbao.wallet.models_bank
    import qianbao.wallet.models_budgets
    import qianbao.wallet.models_chain
    import qianbao.wallet.models_fx
    import qianbao.webhooks.models
    import qianbao.worker.models  # noqa: F401
