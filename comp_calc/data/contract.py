"""The input contract of SPEC section 1 beyond the columns themselves.

`comp_calc.data.model.COLUMNS` names every file's columns and their kind; these
are the limits and keywords the row rules hold each kind to, the id column of
each file, and the file formats an input may come in.
"""

MAX_DECIMALS = 6
MAX_INTEGER_DIGITS = 15
# the contact channels, in this order wherever they are numbered (a plan's channels as a bit mask)
CHANNELS = ("voice", "email", "sms", "visit")
ENUMS = {"survey": ("nps", "csat", "ces"), "channel": CHANNELS}
SCORE_RANGE = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
ID_KEYS = {"reps": "rep_id", "sales": "sale_id", "feedback": "response_id", "contacts": "contact_id", "campaigns": "campaign_id"}
# files keyed by several columns together (checked as one key; the diagnostic names the first)
COMPOSITE_KEYS = {"fx_rates": ("currency", "to", "month")}
CURRENCY_RE = r"^[A-Z]{3}$"  # a currency code: 3 upper-case letters (EUR, USD)
FORMATS = (".csv", ".parquet")
# the kinds of column whose cell may be empty (every other column is required)
OPTIONAL_KINDS = ("text", "optional_date", "optional_id", "optional_currency")
