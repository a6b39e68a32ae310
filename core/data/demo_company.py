"""The shape of the demo customer: a mid-size health-tech company selling software and running
clinics, with sites in Europe, North America and India.

This is the only hand-written part of the demo catalog. Occupation titles, descriptions and
job-title labels come from O*NET at build time; here we only choose which occupations the
company employs, where they sit, which of O*NET's many recorded titles the company actually
uses, and which curricula each audience must complete. Keeping the choices in one table makes
a change to the demo company a one-line diff that a reviewer can judge.
"""

from __future__ import annotations

from dataclasses import dataclass

# Tag conventions the simulator and demo tooling read back from the catalog, so the catalog
# file stays the single description of the company (role -> department, site -> country).
DEPARTMENT_TAG_PREFIX = "department:"
COUNTRY_TAG_PREFIX = "country:"
PEOPLE_LEADER_TAG = "people-leader"

CATALOG_VERSION = "demo-2026.11"

EVERYONE_ID = "everyone"
PEOPLE_MANAGER_ID = "prog-people-manager-essentials"
LEADERSHIP_ID = "prog-leadership"


@dataclass(frozen=True)
class Department:
    name: str
    id: str
    description: str
    curricula: tuple[str, ...] = ()


@dataclass(frozen=True)
class Site:
    name: str
    id: str
    country: str  # ISO 3166-1 alpha-2
    description: str


@dataclass(frozen=True)
class Curriculum:
    id: str
    display_name: str
    description: str
    due_days: int
    tags: tuple[str, ...]


@dataclass(frozen=True)
class Role:
    """One O*NET occupation the company employs.

    ``titles`` must be titles O*NET records for the occupation (alternate or reported
    titles); the builder refuses anything else.
    """

    code: str
    department: str
    titles: tuple[str, ...]
    curricula: tuple[str, ...] = ()
    leads_people: bool = False


CURRICULA: tuple[Curriculum, ...] = (
    Curriculum(
        "curr-code-of-conduct",
        "Code of Conduct",
        "Our standards of business conduct, speaking up, and conflicts of interest.",
        30,
        ("compliance",),
    ),
    Curriculum(
        "curr-infosec-awareness",
        "Information Security Awareness",
        "Phishing, passwords and MFA, device security, and how to report an incident.",
        30,
        ("compliance", "security"),
    ),
    Curriculum(
        "curr-gdpr-essentials",
        "GDPR Essentials",
        "Lawful basis, data-subject rights, and breach reporting under the EU and UK GDPR.",
        30,
        ("compliance", "privacy"),
    ),
    Curriculum(
        "curr-us-anti-harassment",
        "US Anti-Harassment",
        "Preventing sexual harassment and discrimination at work, as required by US states.",
        90,
        ("compliance",),
    ),
    Curriculum(
        "curr-ca-harassment-prevention",
        "Canada Workplace Harassment and Violence Prevention",
        "Recognising, preventing and reporting workplace harassment and violence in Canada.",
        60,
        ("compliance",),
    ),
    Curriculum(
        "curr-in-posh",
        "India Prevention of Sexual Harassment (POSH)",
        "The POSH Act 2013: the Internal Committee, complaints, and everyone's duties.",
        60,
        ("compliance",),
    ),
    Curriculum(
        "curr-hipaa-privacy",
        "HIPAA Privacy and Security",
        "Protected health information: minimum necessary use, safeguards, and breaches.",
        30,
        ("compliance", "privacy", "clinical"),
    ),
    Curriculum(
        "curr-anti-bribery-sales",
        "Anti-Bribery for Sales",
        "FCPA and UK Bribery Act for customer-facing staff: gifts, hospitality, third parties.",
        60,
        ("compliance",),
    ),
    Curriculum(
        "curr-sox-internal-controls",
        "SOX Internal Controls",
        "Financial reporting controls, segregation of duties, and evidence for auditors.",
        60,
        ("compliance", "finance"),
    ),
    Curriculum(
        "curr-employee-data-privacy",
        "Handling Employee Personal Data",
        "Confidentiality of HR records, access on a need-to-know basis, and retention.",
        30,
        ("compliance", "privacy"),
    ),
    Curriculum(
        "curr-pci-dss-awareness",
        "PCI DSS Awareness",
        "Taking card payments over the phone and in tickets without storing card data.",
        30,
        ("compliance", "security"),
    ),
    Curriculum(
        "curr-marketing-consent",
        "Marketing Consent and Fair Claims",
        "Consent for e-mail and tracking (ePrivacy, CAN-SPAM, CASL) and substantiated claims.",
        60,
        ("compliance", "privacy"),
    ),
    Curriculum(
        "curr-secure-coding",
        "Secure Coding",
        "OWASP Top 10, secrets handling, dependency hygiene, and secure code review.",
        60,
        ("compliance", "security", "engineering"),
    ),
    Curriculum(
        "curr-privileged-access",
        "Privileged Access and Production Safety",
        "Working with administrator rights: break-glass access, change control, and logging.",
        30,
        ("compliance", "security"),
    ),
    Curriculum(
        "curr-responsible-ai",
        "Responsible AI and Data Ethics",
        "Bias, explainability, consent for training data, and model risk documentation.",
        60,
        ("ethics", "data"),
    ),
    Curriculum(
        "curr-bloodborne-pathogens",
        "Bloodborne Pathogens and Infection Control",
        "OSHA bloodborne pathogens standard, hand hygiene, PPE, and sharps safety.",
        30,
        ("compliance", "clinical", "safety"),
    ),
    Curriculum(
        "curr-inclusive-hiring",
        "Inclusive Hiring and Interviewing",
        "Structured interviews, lawful questions, and reducing bias in hiring decisions.",
        60,
        ("manager",),
    ),
)

EVERYONE_CURRICULA = ("curr-code-of-conduct", "curr-infosec-awareness")
MANAGER_CURRICULA = ("curr-inclusive-hiring",)

DEPARTMENTS: tuple[Department, ...] = (
    Department("Engineering", "dept-engineering", "Product engineering, IT and data."),
    Department(
        "Sales", "dept-sales", "New business and account management.", ("curr-anti-bribery-sales",)
    ),
    Department(
        "Finance", "dept-finance", "Accounting, FP&A and treasury.", ("curr-sox-internal-controls",)
    ),
    Department(
        "People",
        "dept-people",
        "HR business partners, talent acquisition, rewards and L&D.",
        ("curr-employee-data-privacy",),
    ),
    Department(
        "Customer Support",
        "dept-customer-support",
        "Customer care and technical support.",
        ("curr-pci-dss-awareness",),
    ),
    Department(
        "Marketing",
        "dept-marketing",
        "Brand, demand generation, communications and market research.",
        ("curr-marketing-consent",),
    ),
    Department(
        "Clinical",
        "dept-clinical",
        "Nurses and care teams in our clinics.",
        ("curr-hipaa-privacy",),
    ),
    Department("Operations", "dept-operations", "Business operations, PMO and administration."),
)

SITES: tuple[Site, ...] = (
    Site("Berlin", "site-berlin", "DE", "Berlin office, Germany."),
    Site("London", "site-london", "GB", "London office, United Kingdom."),
    Site("New York", "site-new-york", "US", "New York office and clinic, USA."),
    Site("Austin", "site-austin", "US", "Austin office and clinic, USA."),
    Site("Toronto", "site-toronto", "CA", "Toronto office, Canada."),
    Site("Bangalore", "site-bangalore", "IN", "Bangalore engineering and support centre, India."),
)

COUNTRY_CURRICULA: dict[str, tuple[str, ...]] = {
    "DE": ("curr-gdpr-essentials",),
    "GB": ("curr-gdpr-essentials",),
    "US": ("curr-us-anti-harassment",),
    "CA": ("curr-ca-harassment-prevention",),
    "IN": ("curr-in-posh",),
}

_CODE = "curr-secure-coding"
_ADMIN = "curr-privileged-access"
_CLINICAL = "curr-bloodborne-pathogens"

ROLES: tuple[Role, ...] = (
    # Engineering
    Role(
        "15-1252.00",
        "Engineering",
        (
            "Software Engineer",
            "Software Developer",
            "Full Stack Developer",
            "Application Developer",
            "Software Development Engineer",
            "DevOps Engineer (Development Operations Engineer)",
        ),
        (_CODE,),
    ),
    Role(
        "15-1253.00",
        "Engineering",
        (
            "Quality Assurance Engineer (QA Engineer)",
            "Software Test Engineer",
            "Quality Assurance Automation Engineer (QA Automation Engineer)",
            "Software Quality Assurance Analyst (SQA Analyst)",
            "Automation Tester",
        ),
        (_CODE,),
    ),
    Role(
        "15-1254.00",
        "Engineering",
        (
            "Web Developer",
            "Front End Developer",
            "Back End Developer",
            "Full Stack Web Developer",
            "JavaScript Developer",
        ),
        (_CODE,),
    ),
    Role(
        "15-1255.00",
        "Engineering",
        (
            "User Experience Designer (UX Designer)",
            "User Interface Designer (UI Designer)",
            "Interface Designer",
            "UX Researcher (User Experience Researcher)",
            "Digital Designer",
        ),
    ),
    Role(
        "15-1299.08",
        "Engineering",
        (
            "Solutions Architect",
            "Cloud Architect",
            "Cloud Engineer",
            "Systems Engineer",
            "Infrastructure Engineer",
        ),
        (_CODE, _ADMIN),
    ),
    Role(
        "15-1212.00",
        "Engineering",
        (
            "Security Analyst",
            "Information Security Specialist",
            "Cybersecurity Analyst",
            "Cloud Security Engineer",
            "Incident Response Analyst",
        ),
        (_ADMIN,),
    ),
    Role(
        "15-1244.00",
        "Engineering",
        (
            "Systems Administrator",
            "Network Administrator",
            "IT Systems Admin (Information Technology Systems Administrator)",
            "Server Administrator",
        ),
        (_ADMIN,),
    ),
    Role(
        "15-2051.00",
        "Engineering",
        (
            "Data Scientist",
            "Machine Learning Engineer",
            "Data Engineer",
            "Applied Scientist",
            "Data Analyst",
        ),
        (_CODE, "curr-responsible-ai"),
    ),
    Role(
        "11-3021.00",
        "Engineering",
        (
            "Development Manager",
            "Information Technology Manager (IT Manager)",
            "Information Technology Director (IT Director)",
            "Chief Information Security Officer (CISO)",
            "Application Development Director",
        ),
        (_CODE,),
        leads_people=True,
    ),
    # Sales
    Role(
        "41-3091.00",
        "Sales",
        (
            "Sales Representative (Sales Rep)",
            "Sales Development Representative",
            "Inside Sales Representative",
            "Accounts Manager",
            "Business-to-Business Sales Representative",
        ),
    ),
    Role(
        "41-4011.00",
        "Sales",
        (
            "Technical Sales Representative",
            "Healthcare Sales Representative",
            "Medical Device Sales Representative (Medical Device Sales Rep)",
            "Territory Sales Representative (Territory Sales Rep)",
            "Enterprise Salesperson",
        ),
    ),
    Role(
        "41-9031.00",
        "Sales",
        (
            "Sales Engineer",
            "Pre-Sales Solutions Engineer",
            "Enterprise Sales Engineer",
            "Technical Sales Engineer",
        ),
    ),
    Role(
        "11-2022.00",
        "Sales",
        (
            "Sales Manager",
            "Regional Sales Manager",
            "Sales Director",
            "National Account Manager",
            "Sales VP (Sales Vice President)",
        ),
        leads_people=True,
    ),
    # Finance
    Role(
        "13-2011.00",
        "Finance",
        (
            "Accountant",
            "Staff Accountant",
            "General Ledger Accountant",
            "Revenue Accountant",
            "Internal Auditor",
            "Tax Accountant",
        ),
    ),
    Role(
        "13-2051.00",
        "Finance",
        (
            "Financial Analyst",
            "Financial Planning and Analysis Analyst",
            "Treasury Analyst",
            "Pricing Analyst",
        ),
    ),
    Role(
        "11-3031.01",
        "Finance",
        ("Controller", "Financial Controller", "Corporate Controller", "Corporate Treasurer"),
        leads_people=True,
    ),
    # People
    Role(
        "13-1071.00",
        "People",
        (
            "HR Business Partner (Human Resources Business Partner)",
            "HR Generalist (Human Resources Generalist)",
            "Corporate Recruiter",
            "HRIS Analyst (Human Resources Information System Analyst)",
            "HR Coordinator (Human Resources Coordinator)",
        ),
    ),
    Role(
        "13-1141.00",
        "People",
        (
            "Compensation Analyst",
            "Benefits Specialist",
            "Compensation and Benefits Specialist",
            "Payroll Specialist",
        ),
    ),
    Role(
        "13-1151.00",
        "People",
        (
            "Learning and Development Specialist (L and D Specialist)",
            "Corporate Trainer",
            "E-Learning Designer",
            "Leadership Development Specialist",
        ),
    ),
    Role(
        "11-3121.00",
        "People",
        (
            "HR Manager (Human Resources Manager)",
            "HR Director (Human Resources Director)",
            "Talent Acquisition Manager",
            "Employee Relations Manager",
        ),
        leads_people=True,
    ),
    # Customer Support
    Role(
        "43-4051.00",
        "Customer Support",
        (
            "Customer Service Representative (CSR)",
            "Customer Support Specialist",
            "Customer Care Representative (CCR)",
            "Client Services Representative",
            "Call Center Representative",
        ),
    ),
    Role(
        "15-1232.00",
        "Customer Support",
        (
            "Technical Support Specialist",
            "Help Desk Analyst",
            "Desktop Support Technician (Desktop Support Tech)",
            "Application Support Engineer",
            "IT Support Specialist (Information Technology Support Specialist)",
        ),
    ),
    Role(
        "43-1011.00",
        "Customer Support",
        (
            "Customer Service Manager",
            "Customer Success Manager",
            "Customer Experience Manager",
            "Call Center Supervisor",
        ),
        leads_people=True,
    ),
    # Marketing
    Role(
        "13-1161.00",
        "Marketing",
        (
            "Marketing Specialist",
            "Digital Marketing Specialist",
            "Market Research Analyst",
            "Marketing Analyst",
            "Social Media Specialist",
        ),
    ),
    Role(
        "27-3031.00",
        "Marketing",
        (
            "Communications Specialist",
            "Content Strategist",
            "Public Relations Specialist (PR Specialist)",
            "Internal Communications Specialist",
        ),
    ),
    Role(
        "27-1024.00",
        "Marketing",
        ("Graphic Designer", "Visual Designer", "Brand Designer", "Marketing Graphic Designer"),
    ),
    Role(
        "11-2021.00",
        "Marketing",
        (
            "Marketing Manager",
            "Product Marketing Manager",
            "Digital Marketing Manager",
            "Marketing Director",
            "Brand Manager",
        ),
        leads_people=True,
    ),
    # Clinical
    Role(
        "29-1141.00",
        "Clinical",
        (
            "Registered Nurse (RN)",
            "Staff Nurse",
            "Charge Nurse",
            "Staff RN (Staff Registered Nurse)",
            "Home Health RN (Home Health Registered Nurse)",
        ),
        (_CLINICAL,),
    ),
    Role(
        "29-1171.00",
        "Clinical",
        (
            "Nurse Practitioner (NP)",
            "Family Nurse Practitioner (FNP)",
            "Advanced Practice Registered Nurse (APRN)",
            "Psychiatric Nurse Practitioner",
        ),
        (_CLINICAL,),
    ),
    Role(
        "29-2061.00",
        "Clinical",
        (
            "Licensed Practical Nurse (LPN)",
            "Licensed Vocational Nurse (LVN)",
            "Clinic Nurse",
            "Triage LPN (Triage Licensed Practical Nurse)",
        ),
        (_CLINICAL,),
    ),
    Role(
        "31-9092.00",
        "Clinical",
        (
            "Medical Assistant (MA)",
            "Certified Medical Assistant (CMA)",
            "Clinical Medical Assistant",
            "Primary Care Medical Assistant",
        ),
        (_CLINICAL,),
    ),
    Role(
        "11-9111.00",
        "Clinical",
        ("Clinical Director", "Clinical Manager", "Nurse Manager", "Nursing Director"),
        (_CLINICAL,),
        leads_people=True,
    ),
    # Operations
    Role(
        "13-1082.00",
        "Operations",
        (
            "Project Manager",
            "Technical Project Manager (Technical PM)",
            "Project Coordinator",
            "Implementation Project Manager",
        ),
    ),
    Role(
        "13-1111.00",
        "Operations",
        (
            "Business Analyst",
            "Operations Analyst",
            "Business Process Analyst",
            "Management Consultant",
        ),
    ),
    Role(
        "43-6014.00",
        "Operations",
        (
            "Administrative Assistant (Admin Assistant)",
            "Office Administrator",
            "Administrative Coordinator",
            "Front Desk Coordinator",
        ),
    ),
    Role(
        "11-1021.00",
        "Operations",
        (
            "Operations Manager",
            "General Manager (GM)",
            "Operations Director",
            "Chief Administrative Officer (CAO)",
            "Site Operations Manager",
        ),
        leads_people=True,
    ),
)
