"""Bank rails and the operator's books (B3, F3, F4): the receiving bank accounts, statement
import (camt.053, camt.054, MT940 — parsed by ``qianbao.rails.bankfiles``), crediting the
wallets the lines' reference codes name, booking charges and interest by rule, and the suspense
queue operators work through. Money moves only through the ledger and the wallet's services."""
