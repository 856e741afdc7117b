"""Live chat (E2): customers and visitors write from any page; the bot answers first with help
articles; "talk to a person" hands off to an agent (round-robin within capacity, in business
hours) or to a ticket / the queue. Messages are masked before they are stored; every change is
fanned out across server processes with PostgreSQL LISTEN/NOTIFY (``hub.ChatHub``)."""
