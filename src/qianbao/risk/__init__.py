"""Risk rules as pure decisions (limits now; velocity rules and reviews next). It never moves
money: the wallet applies the decisions."""
