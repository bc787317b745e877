#!/usr/bin/env python3
"""An evaluation corpus written independently of pii-scan's rules.

Values come from the `faker` package (many locales, its own formats) and the
`phonenumbers` package (libphonenumber's metadata: example numbers of every
region, formatted NATIONAL / INTERNATIONAL / E164, validity checked by the
library, not by pii-scan), plus small generators written from public format
documentation (US state driver-licence shapes, NHS mod 11, card brands'
IIN ranges). Sentence templates are plain prose, chat, forms, logs and CSV
lines; they were written before looking at which words pii-scan's context
lists hold, and most carry no context word at all.

Two splits with disjoint templates and different seeds:
  dev.jsonl   templates A (index % 4 in 0, 3), seed 101 -- may be looked at while tuning
  test.jsonl  templates B (index % 4 in 1, 2), seed 202 -- evaluated only for the report

Run: python3 -m venv v && v/bin/pip install faker==40.* phonenumbers==9.*
     v/bin/python generate.py   (writes dev.jsonl and test.jsonl beside it)
Each line: {"id", "text", "spans": [{"entity_type", "start", "end"}]} with
UTF-8 byte offsets and Presidio's entity names.
"""

import ipaddress
import json
import random
import string
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import phonenumbers as pn
from faker import Faker

LOCALES = ["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "pt_BR", "pt_PT",
           "nl_NL", "pl_PL", "sv_SE", "fi_FI", "en_AU", "en_IN", "ja_JP", "zh_CN",
           "ko_KR", "ru_RU", "tr_TR", "en_CA", "es_MX", "da_DK", "no_NO", "cs_CZ"]

# Regions for phone numbers: the 30+ most populous countries and others.
REGIONS = ["CN", "IN", "US", "ID", "PK", "NG", "BR", "BD", "RU", "MX", "JP", "ET",
           "PH", "EG", "VN", "CD", "TR", "IR", "DE", "TH", "GB", "FR", "TZ", "ZA",
           "IT", "KE", "MM", "CO", "KR", "ES", "AR", "UG", "DZ", "CA", "PL", "AU",
           "NL", "SE", "CH", "BE", "AT", "IE", "PT", "MY", "SG", "NZ", "SA", "AE"]

MONTHS = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"],
    "de": ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
           "September", "Oktober", "November", "Dezember"],
    "fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre"],
    "es": ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
           "septiembre", "octubre", "noviembre", "diciembre"],
    "it": ["gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio",
           "agosto", "settembre", "ottobre", "novembre", "dicembre"],
    "pt": ["janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho",
           "agosto", "setembro", "outubro", "novembro", "dezembro"],
    "nl": ["januari", "februari", "maart", "april", "mei", "juni", "juli",
           "augustus", "september", "oktober", "november", "december"],
}
WEEKDAYS = {
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "de": ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"],
    "fr": ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
    "es": ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"],
    "it": ["lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica"],
    "pt": ["segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira",
           "sábado", "domingo"],
    "nl": ["maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"],
}


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        Faker.seed(seed)
        self.fk = {loc: Faker(loc) for loc in LOCALES}
        for i, f in enumerate(self.fk.values()):
            f.seed_instance(seed * 100 + i)

    def faker(self):
        return self.fk[self.r.choice(LOCALES)]

    # ------------------------------------------------------------ phones
    def phone(self):
        r = self.r
        kind = r.random()
        if kind < 0.25:
            # Faker's own national formats.
            loc = r.choice(["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "pt_BR",
                            "nl_NL", "pl_PL", "en_AU", "en_IN", "ja_JP", "zh_CN", "ko_KR",
                            "ru_RU", "tr_TR", "en_CA", "es_MX", "sv_SE"])
            s = self.fk[loc].phone_number()
            if "x" in s and r.random() < 0.5:
                s = s.split("x")[0].strip()
            return s
        region = r.choice(REGIONS)
        for _ in range(50):
            ex = pn.example_number_for_type(region, r.choice(
                [pn.PhoneNumberType.MOBILE, pn.PhoneNumberType.FIXED_LINE]))
            if ex is None:
                continue
            nat = str(ex.national_number)
            # Randomize the last digits, keep it valid by the library.
            k = min(4, len(nat) - 3)
            nat = nat[:-k] + "".join(r.choice(string.digits) for _ in range(k))
            num = pn.parse("+%d%s" % (ex.country_code, nat))
            if pn.is_valid_number(num):
                break
        else:
            return "+1 415 555 0132"
        fmt = r.random()
        if fmt < 0.35:
            s = pn.format_number(num, pn.PhoneNumberFormat.INTERNATIONAL)
        elif fmt < 0.75:
            s = pn.format_number(num, pn.PhoneNumberFormat.NATIONAL)
        elif fmt < 0.85:
            s = pn.format_number(num, pn.PhoneNumberFormat.E164)
        else:
            s = pn.format_number(num, pn.PhoneNumberFormat.INTERNATIONAL)
            s = s.replace(" ", r.choice(["-", ".", " "]))
        if r.random() < 0.1:
            s += r.choice([" ext. ", " ext ", " x", " #", ", ext. "]) + str(r.randint(10, 9999))
        return s

    # ------------------------------------------------------------ dates
    def date(self):
        r = self.r
        d = date(1950, 1, 1) + timedelta(days=r.randint(0, 365 * 80))
        t = datetime(d.year, d.month, d.day, r.randint(0, 23), r.randint(0, 59), r.randint(0, 59))
        lang = r.choice(["en", "en", "en", "de", "fr", "es", "it", "pt", "nl"])
        mon = MONTHS[lang][d.month - 1]
        wd = WEEKDAYS[lang][d.weekday()]
        k = r.randint(0, 27)
        short = mon[:3] + ("." if lang != "en" and r.random() < 0.5 else "")
        opts = [
            f"{d.month}/{d.day}/{d.year}", f"{d.day:02}/{d.month:02}/{d.year}",
            f"{d.day}.{d.month}.{d.year}", f"{d.year}-{d.month:02}-{d.day:02}",
            f"{d.day:02}-{d.month:02}-{d.year % 100:02}", f"{d.year}{d.month:02}{d.day:02}",
            f"{d.year}/{d.month:02}/{d.day:02}", f"{d.month:02}.{d.day:02}.{d.year}",
            t.strftime("%Y-%m-%dT%H:%M:%S") + r.choice(["Z", "+02:00", "-05:00", ""]),
            t.strftime("%Y-%m-%d %H:%M"),
            f"{t.hour}:{t.minute:02}", f"{(t.hour % 12) or 12}{r.choice(['am', 'pm', ' AM', ' p.m.'])}",
            f"{(t.hour % 12) or 12}:{t.minute:02} {r.choice(['AM', 'PM', 'am', 'pm'])}",
            r.choice(["noon", "midnight"]),
        ]
        if lang == "en":
            opts += [f"{mon} {d.day}, {d.year}", f"{d.day} {mon} {d.year}", f"{short} {d.day}",
                     f"{wd}, {mon} {d.day}", f"{mon} {d.year}", f"the {d.day}{ordinal(d.day)} of {mon}",
                     f"{mon} {d.day}-{min(d.day + 2, 28)}", f"{d.day}-{mon[:3]}-{d.year}",
                     f"{wd} {d.day} {mon}", f"{mon} {d.day}{ordinal(d.day)}"]
        else:
            dot = "." if lang == "de" else ""
            opts += [f"{d.day}{dot} {mon} {d.year}", f"{d.day}{dot} {mon}", f"{wd}, {d.day}{dot} {mon} {d.year}",
                     f"{d.day}{dot} {short} {d.year}", f"{mon} {d.year}"]
            if lang in ("es", "pt"):
                opts += [f"{d.day} de {mon} de {d.year}", f"{d.day} de {mon}"]
        return r.choice(opts[k % len(opts):] + opts[:1]) if r.random() < 0.2 else r.choice(opts)

    # ------------------------------------------------------------ ids
    def card(self):
        r = self.r
        num = self.fk["en_US"].credit_card_number(card_type=r.choice(
            ["visa", "visa16", "mastercard", "amex", "discover", "jcb", "diners", "maestro"]))
        if len(num) in (15,) and num.startswith("3"):
            groups = [num[:4], num[4:10], num[10:]]
        else:
            groups = [num[i:i + 4] for i in range(0, len(num), 4)]
        sep = r.choice([" ", " ", "-", "", "\u00a0", "\u202f"])
        return sep.join(groups)

    def nhs(self):
        r = self.r
        while True:
            d = [r.randint(0, 9) for _ in range(9)]
            if d[0] == 0:
                continue
            c = 11 - sum(x * (10 - i) for i, x in enumerate(d)) % 11
            if c == 11:
                c = 0
            if c == 10:
                continue
            s = "".join(map(str, d + [c]))
            sep = r.choice([" ", " ", "-", "", "\u00a0"])
            return s[:3] + sep + s[3:6] + sep + s[6:]

    def driver_license(self):
        r = self.r
        L = lambda n: "".join(r.choice(string.ascii_uppercase) for _ in range(n))
        D = lambda n: "".join(r.choice(string.digits) for _ in range(n))
        shapes = [
            lambda: L(1) + D(7),                     # CA
            lambda: D(9),                            # NY, many states
            lambda: D(8),                            # TX, PA
            lambda: L(1) + D(12),                    # FL, MD, MN
            lambda: L(1) + D(3) + "-" + D(3) + "-" + D(2) + "-" + D(3) + "-" + D(1),  # FL printed
            lambda: L(1) + D(11),                    # IL
            lambda: L(1) + D(3) + "-" + D(4) + "-" + D(4),  # IL printed
            lambda: "WDL" + "".join(r.choice(string.ascii_uppercase + string.digits) for _ in range(9)),  # WA
            lambda: L(1) + D(8),                     # several
            lambda: D(7),                            # several
            lambda: L(2) + D(6),                     # several
            lambda: D(3) + "-" + D(3) + "-" + D(3),  # printed 9 digit
            lambda: L(1) + D(14),                    # KS variants
            lambda: D(2) + "-" + D(3) + "-" + D(4),  # MA-like printed
            lambda: "S" + D(8),                      # MA
            lambda: L(1) + D(4) + " " + D(5) + " " + D(5),  # NJ printed
        ]
        return r.choice(shapes)()

    def bank(self):
        r = self.r
        n = r.randint(8, 17)
        return str(r.randint(1, 9)) + "".join(r.choice(string.digits) for _ in range(n - 1))

    def url(self):
        r = self.r
        f = self.faker()
        k = r.random()
        if k < 0.3:
            return f.url()
        if k < 0.55:
            return f.uri()
        host = r.choice([f.domain_name(), f.domain_name(2), "www." + f.domain_name(),
                         str(ipaddress.IPv4Address(r.getrandbits(32) | 0x01000000)) ,
                         "localhost", "api." + f.domain_word() + "." + r.choice(
                             ["io", "dev", "app", "co.uk", "com.br", "museum", "xyz", "tech", "ai", "gov"])])
        port = r.choice(["", "", "", ":8080", ":443", ":3000"])
        path = r.choice(["", "/", "/" + f.uri_path(), "/" + f.uri_path() + "?" + f.word() + "=" + str(r.randint(1, 999)),
                         "/" + f.word() + "/" + f.slug() + "#" + f.word(), "/~" + f.user_name() + "/"])
        scheme = r.choice(["https://", "http://", "https://", "ftp://"])
        if host.startswith("www.") and r.random() < 0.5:
            scheme = ""
        return scheme + host + port + path

    def email(self):
        f = self.faker()
        return self.r.choice([f.email, f.free_email, f.company_email, f.ascii_email, f.safe_email])()

    def ip(self):
        r = self.r
        if r.random() < 0.7:
            return self.faker().ipv4(network=r.random() < 0.1)
        return self.faker().ipv6()

    def iban(self):
        r = self.r
        loc = r.choice(["de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "en_GB", "pl_PL", "pt_PT", "fi_FI", "da_DK", "no_NO", "cs_CZ"])
        s = self.fk[loc].iban()
        k = r.random()
        if k < 0.5:
            s = " ".join(s[i:i + 4] for i in range(0, len(s), 4))
        elif k < 0.6:
            s = "\u00a0".join(s[i:i + 4] for i in range(0, len(s), 4))
        return s

    def ssn(self):
        s = self.fk["en_US"].ssn()
        return s.replace("-", self.r.choice(["-", "-", " ", ""]))


def ordinal(n):
    return "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


# Templates: {E} placeholders, E an entity key below. Written as prose people
# write; split A (dev) / B (test) by position.
TEMPLATES = [
    "Hi team, you can reach me at {PHONE} if anything comes up.",
    "Meeting moved to {DATE}, see you there.",
    "Please update my details: {EMAIL} / {PHONE}",
    "Order shipped {DATE} to the address on file; questions? {EMAIL}",
    "Name: {NAME}\nPhone: {PHONE}\nEmail: {EMAIL}",
    "The server at {IP} stopped answering around {DATE}.",
    "Docs are here: {URL} (see section 3).",
    "Card on file: {CARD}, exp 09/29.",
    "Wire the deposit to {IBAN} before {DATE}.",
    "My NHS number is {NHS}.",
    "driver's license {DL} issued in {STATE}",
    "Account number {BANK} at First National.",
    "SSN {SSN}",
    "{NAME},{EMAIL},{PHONE},{DATE}",
    "[{DATE}] login from {IP} user={EMAIL}",
    "Ring {NAME} on {PHONE} tomorrow.",
    "Born {DATE} in {CITY}.",
    "check out {URL}!",
    "Paid with {CARD} on {DATE}",
    "Patient {NAME}, NHS no. {NHS}, seen {DATE}.",
    "DL# {DL}",
    "routing and account: {BANK}",
    "ping me — {PHONE} — or write {EMAIL}",
    "Visited {URL} at {DATE} from {IP}",
    "IBAN: {IBAN}\nBIC: DEUTDEFF",
    "The invoice from {DATE} is still open. Contact: {PHONE}.",
    "Nos vemos el {DATE}. Mi móvil: {PHONE}",
    "Rendez-vous le {DATE}, appelez-moi au {PHONE}.",
    "Termin am {DATE}, Rückruf unter {PHONE}.",
    "Ci vediamo {DATE}, il mio numero è {PHONE}.",
    "Reunião em {DATE}. Telefone: {PHONE}",
    "Afspraak op {DATE}, bel {PHONE}.",
    "Her license number is {DL}.",
    "please charge {CARD}",
    "Fwd: {EMAIL} wrote on {DATE}:",
    "Connect to {URL} or {IP} if DNS fails.",
    "{NAME} ({EMAIL}) called from {PHONE} at {TIME}.",
    "Deadline: {DATE} {TIME}",
    "Transfer to account {BANK} please.",
    "Her NHS number: {NHS}",
    "Social security number: {SSN}",
    "Reach the front desk at {PHONE}.",
    "Saw the doctor {DATE}; next visit {DATE}.",
    "link: {URL}",
    "Driver License No. {DL}",
    "Mi tarjeta es {CARD}.",
    "Last login {DATE} from {IP}.",
    "My bank account is {BANK}, thanks.",
]
EXTRA = {
    "NAME": lambda g: g.faker().name(),
    "CITY": lambda g: g.faker().city(),
    "STATE": lambda g: g.fk["en_US"].state(),
}
ENT = {
    "PHONE": ("PHONE_NUMBER", Gen.phone), "DATE": ("DATE_TIME", Gen.date),
    "TIME": ("DATE_TIME", lambda g: g.r.choice(["9am", "14:30", "noon", "3:15 pm", "10:00", "7 p.m.", "23:59:59"])),
    "EMAIL": ("EMAIL_ADDRESS", Gen.email), "IP": ("IP_ADDRESS", Gen.ip), "URL": ("URL", Gen.url),
    "CARD": ("CREDIT_CARD", Gen.card), "IBAN": ("IBAN_CODE", Gen.iban), "NHS": ("UK_NHS", Gen.nhs),
    "DL": ("US_DRIVER_LICENSE", Gen.driver_license), "BANK": ("US_BANK_NUMBER", Gen.bank),
    "SSN": ("US_SSN", Gen.ssn),
}

NEGATIVES = [
    "We sold {n} units for ${p} last quarter.", "Version {v} fixes the crash.",
    "Room {r}, floor 3.", "The recipe needs 250 g flour and 2 eggs.",
    "Score was 3-1 after 90 minutes.", "Population: {n} (estimate).",
    "Chapter 12, pages 101-115.", "Set the timeout to 3000 ms and retry 5 times.",
]


def render(g, tpl):
    out, spans, i = b"", [], 0
    while i < len(tpl):
        j = tpl.find("{", i)
        if j < 0:
            out += tpl[i:].encode()
            break
        out += tpl[i:j].encode()
        k = tpl.index("}", j)
        key = tpl[j + 1:k]
        if key in ENT:
            name, fn = ENT[key]
            val = fn(g).strip()
            spans.append({"entity_type": name, "start": len(out), "end": len(out) + len(val.encode())})
            out += val.encode()
        else:
            out += EXTRA[key](g).encode()
        i = k + 1
    return out.decode(), spans


def negative(g):
    r = g.r
    t = r.choice(NEGATIVES)
    return t.format(n=r.randint(100, 99999), p="%d.%02d" % (r.randint(1, 999), r.randint(0, 99)),
                    v="%d.%d.%d" % (r.randint(0, 9), r.randint(0, 20), r.randint(0, 99)),
                    r=r.randint(100, 999))


def build(templates, seed, n):
    g = Gen(seed)
    recs = []
    for i in range(n):
        if i % 10 == 9:
            text, spans = negative(g), []
        else:
            text, spans = render(g, templates[i % len(templates)])
        recs.append({"id": i, "text": text, "spans": spans})
    return recs


def main():
    here = Path(__file__).resolve().parent
    a = [t for i, t in enumerate(TEMPLATES) if i % 4 in (0, 3)]
    b = [t for i, t in enumerate(TEMPLATES) if i % 4 in (1, 2)]
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    for name, tpls, seed in (("dev", a, 101), ("test", b, 202)):
        with open(here / f"{name}.jsonl", "w", encoding="utf-8") as f:
            for rec in build(tpls, seed, n):
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
