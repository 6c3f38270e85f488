"""People and companies: the countries, names, company names, sizes and job titles the
leads are made of, and the free-mail domains and site pages they use."""

from __future__ import annotations

import unicodedata

# code: (weight, language, domain suffix, legal forms)
COUNTRIES: dict[str, tuple[int, str, str, tuple[str, ...]]] = {
    "US": (28, "en", ".com", ("Inc.", "LLC", "")),
    "GB": (10, "en", ".co.uk", ("Ltd", "")),
    "DE": (10, "de", ".de", ("GmbH", "AG")),
    "FR": (6, "fr", ".fr", ("SAS", "SA")),
    "NL": (4, "nl", ".nl", ("B.V.",)),
    "SE": (3, "sv", ".se", ("AB",)),
    "CA": (5, "en", ".ca", ("Inc.", "")),
    "AU": (4, "en", ".com.au", ("Pty Ltd",)),
    "IN": (6, "in", ".in", ("Pvt Ltd",)),
    "BR": (4, "pt", ".com.br", ("Ltda",)),
    "ES": (4, "es", ".es", ("S.L.",)),
    "IT": (3, "it", ".it", ("S.r.l.",)),
    "PL": (3, "pl", ".pl", ("sp. z o.o.",)),
    "JP": (2, "ja", ".co.jp", ("K.K.",)),
    "SG": (2, "en", ".sg", ("Pte Ltd",)),
    "MX": (2, "es", ".mx", ("S.A. de C.V.",)),
    "ZA": (2, "en", ".co.za", ("(Pty) Ltd",)),
    "IE": (2, "en", ".ie", ("Ltd",)),
}
NAMES: dict[str, tuple[str, str]] = {  # language: (first names, last names)
    "en": (
        "James Emily Michael Sarah David Jessica Daniel Olivia Chris Hannah Ryan Megan "
        "Andrew Laura Tom Rachel Kevin Sophie Brian Grace",
        "Smith Johnson Brown Taylor Miller Wilson Davis Clark Lewis Walker Hall Young King "
        "Wright Green Baker Carter Mitchell Turner Parker",
    ),
    "de": (
        "Lukas Anna Jonas Lea Felix Marie Maximilian Laura Jan Sophie Tobias Katharina "
        "Florian Julia Stefan",
        "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Koch "
        "Richter Klein Wolf Schröder",
    ),
    "fr": (
        "Camille Louis Léa Hugo Manon Thomas Chloé Nicolas Julie Antoine Inès Mathieu",
        "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Lefèvre Girard",
    ),
    "nl": (
        "Daan Emma Sem Julia Lucas Sanne Bram Fleur Thijs Anouk",
        "de_Jong Jansen de_Vries van_den_Berg Bakker Visser Smit Meijer de_Boer Mulder",
    ),
    "sv": (
        "Erik Elsa Oskar Maja Lars Ingrid Johan Astrid Nils Linnea",
        "Andersson Johansson Karlsson Nilsson Eriksson Larsson Olsson Persson Svensson Lindberg",
    ),
    "es": (
        "Alejandro Lucía Javier María Pablo Carmen Diego Sofía Carlos Elena",
        "García Fernández González Rodríguez López Martínez Sánchez Pérez Gómez Ruiz",
    ),
    "pt": (
        "João Ana Pedro Beatriz Lucas Mariana Rafael Camila Gabriel Larissa",
        "Silva Santos Oliveira Souza Lima Pereira Costa Almeida Ferreira Rodrigues",
    ),
    "it": (
        "Marco Giulia Luca Chiara Matteo Francesca Alessandro Sara Davide Martina",
        "Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco",
    ),
    "pl": (
        "Jakub Zuzanna Piotr Aleksandra Kacper Natalia Michał Magdalena Tomasz Karolina",
        "Nowak Kowalski Wiśniewski Wójcik Kowalczyk Kamiński Lewandowski Zieliński Szymański "
        "Woźniak",
    ),
    "in": (
        "Aarav Priya Rohan Ananya Vikram Diya Arjun Kavya Rahul Neha",
        "Sharma Patel Gupta Singh Kumar Reddy Iyer Nair Mehta Joshi",
    ),
    "ja": (
        "Haruto Yui Sota Aoi Ren Hina Yuto Sakura Kenji Yuki",
        "Sato Suzuki Takahashi Tanaka Watanabe Ito Yamamoto Nakamura Kobayashi Kato",
    ),
}
STEMS = (
    "Atlas Arcadia Beacon Bluefin Bramble Brightpath Cascade Cobalt Copperleaf Crescent Delta "
    "Driftwood Ember Evergreen Falcon Fjord Granite Harbor Helix Indigo Ironbridge Juniper "
    "Kestrel Keystone Lighthouse Lumen Maple Meridian Mosaic Nimbus Northwind Nova Oakridge "
    "Orbit Pinnacle Polaris Quartz Redwood Riverstone Saffron Sierra Silverline Solstice Summit "
    "Tandem Tidewater Trellis Vertex Willow Zenith"
)
CORES = (
    "Analytics Logistics Systems Health Labs Robotics Foods Energy Capital Media Software Retail "
    "Insurance Cloud Motors Biotech Security Payments Learning Travel Manufacturing Consulting "
    "Networks Pharma Apparel Realty Telecom Games Data Freight"
)
# (smallest, largest, weight) employees
COMPANY_SIZES = (
    (2, 10, 8),
    (11, 50, 18),
    (51, 200, 24),
    (201, 1000, 24),
    (1001, 5000, 16),
    (5001, 60000, 10),
)
JOB_TITLES = (
    ("Chief Revenue Officer", 2),
    ("CEO", 2),
    ("CTO", 1),
    ("COO", 1),
    ("Founder", 2),
    ("VP of Sales", 4),
    ("VP Marketing", 4),
    ("Vice President, Revenue Operations", 2),
    ("Head of Growth", 4),
    ("Head of Sales Development", 3),
    ("Head of Marketing", 3),
    ("Director of Demand Generation", 4),
    ("Sales Director", 4),
    ("Marketing Director", 3),
    ("Director, Revenue Operations", 3),
    ("Marketing Manager", 8),
    ("Sales Manager", 7),
    ("RevOps Manager", 5),
    ("Demand Generation Manager", 5),
    ("Account Executive", 6),
    ("Sales Development Representative", 6),
    ("Marketing Specialist", 5),
    ("Marketing Operations Specialist", 4),
    ("Software Engineer", 5),
    ("Data Analyst", 4),
    ("Product Manager", 4),
    ("Operations Manager", 4),
    ("Consultant", 3),
    ("Student", 2),
    ("", 3),
)
FREEMAIL_BY_COUNTRY = {
    "US": ("gmail.com", "yahoo.com", "outlook.com", "icloud.com", "hotmail.com"),
    "CA": ("gmail.com", "outlook.com", "yahoo.com"),
    "GB": ("gmail.com", "hotmail.co.uk", "yahoo.co.uk", "outlook.com"),
    "DE": ("gmail.com", "gmx.de", "web.de", "outlook.com"),
}
FREEMAIL_ELSEWHERE = ("gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "icloud.com")
SITE_PAGES = (
    "/",
    "/product",
    "/product/routing",
    "/product/sla",
    "/customers",
    "/blog",
    "/blog/speed-to-lead",
    "/blog/lead-scoring-101",
    "/integrations",
)


def _words(text: str) -> list[str]:
    return [word.replace("_", " ") for word in text.split()]


def _ascii(text: str) -> str:
    text = text.replace("ł", "l").replace("Ł", "L")
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())
