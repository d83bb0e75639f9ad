"""Plan changes before they ship: the rule changes in words (`rules`), each rep's payout
under both (`impact`), and where OLD and NEW come from (`sources`: files, git revisions,
the two plan sets). Plain data; `comp_calc.commands.diff` renders it."""
