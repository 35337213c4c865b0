"""Rampart's browser suite: headless Chromium driven with Selenium through the gateway over TLS.

Run by BrowserSuiteTests.swift, which starts the services and the gateway, creates the tenant,
its users and tickets, and passes everything in one JSON file (argv[1]). Prints one line per
check; exits non-zero on the first failure. Screenshots go to the configured directory.
"""
import base64
import hashlib
import hmac
import json
import os
import struct
import subprocess
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

config = json.load(open(sys.argv[1]))
BASE = config["base_url"]
SHOTS = config["screenshots"]
os.makedirs(SHOTS, exist_ok=True)
checks = 0


def check(condition, what):
    global checks
    checks += 1
    if not condition:
        print(f"FAIL: {what}", flush=True)
        raise SystemExit(1)
    print(f"ok: {what}", flush=True)


def spki_hash(certificate_path):
    """Base64 SHA-256 of the certificate's SubjectPublicKeyInfo: Chromium trusts exactly that key."""
    public_key = subprocess.run(["openssl", "x509", "-in", certificate_path, "-noout", "-pubkey"], check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=public_key, check=True, capture_output=True).stdout
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def totp(secret, step):
    """RFC 6238 (SHA-1, 6 digits, 30 s), written from the RFC, independent of Rampart's code."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1000000)


options = Options()
options.binary_location = config["chromium"]
for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000",
                 f"--ignore-certificate-errors-spki-list={spki_hash(config['certificate'])}"]:
    options.add_argument(argument)
options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
driver = webdriver.Chrome(service=Service(config["chromedriver"]), options=options)
driver.set_page_load_timeout(30)
pages_seen = []


def documents_checked():
    """Every HTML document loaded since the last call must carry the strict CSP."""
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] != "Network.responseReceived" or message["params"]["type"] != "Document":
            continue
        response = message["params"]["response"]
        # Chromium's own start page (`data:,`) shows up here at times; only Rampart's pages count.
        if not response["url"].startswith(BASE):
            continue
        headers = {name.lower(): value for name, value in response["headers"].items()}
        pages_seen.append(response["url"])
        check(strict_csp(headers), f"CSP on {response['url'].replace(BASE, '')} ({response['status']})")


def strict_csp(headers):
    """Whether a document's headers carry the product's strict policy."""
    csp = headers.get("content-security-policy", "")
    return "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp


# The check itself refuses what it must refuse: no policy, a lax one, inline script allowed.
check(not strict_csp({}) and not strict_csp({"content-security-policy": "default-src 'self'; frame-ancestors 'none'"})
      and not strict_csp({"content-security-policy": "default-src 'none'; script-src 'unsafe-inline'; frame-ancestors 'none'"})
      and strict_csp({"content-security-policy": "default-src 'none'; script-src 'self'; frame-ancestors 'none'"}),
      "the CSP check refuses a missing or lax policy")


def shot(name):
    documents_checked()
    driver.save_screenshot(os.path.join(SHOTS, f"{name}.png"))


def open_page(path):
    driver.get(BASE + path)


# How Chromium answers for a node of a page that is gone: either as stale or as "does not belong
# to the document" (a plain WebDriverException). Both mean another page is taking its place.
PAGE_GONE = WebDriverException


def text():
    """The page's text. Right after a form's submit the next page may not have a body yet, or the
    old one may go while it is read (seen under load): wait for a body that reads."""
    def body_text(d):
        try:
            return d.find_element(By.TAG_NAME, "body").text
        except PAGE_GONE:
            return False
    return WebDriverWait(driver, 10).until(body_text)


def follow(element):
    """Clicks a link or a form's button and waits until the next page replaced this one (on a
    busy machine the old page is still there for a while after the click)."""
    old = driver.find_element(By.TAG_NAME, "html")
    element.click()

    def replaced(_):
        try:
            old.is_enabled()
            return False
        except PAGE_GONE:
            return True
    WebDriverWait(driver, 30).until(replaced)


def click_button(label):
    follow(driver.find_element(By.XPATH, f"//button[normalize-space()='{label}']"))


def no_alert():
    try:
        driver.switch_to.alert
        return False
    except NoAlertPresentException:
        return True


def sign_in(email, password, path):
    """Opens `path` signed out: the edge sends the browser to sign in and back to `path`."""
    driver.delete_all_cookies()
    open_page(path)
    check(driver.current_url.startswith(BASE + "/login?return_to="), f"{path} without a session goes to sign-in")
    shot("sign-in")
    driver.find_element(By.ID, "email").send_keys(email)
    driver.find_element(By.ID, "password").send_keys(password)
    click_button("Sign in")


try:
    # A customer submits a request with an attachment and follows it.
    customer = config["customer"]
    sign_in(customer["email"], customer["password"], "/portal")
    check(driver.current_url == BASE + "/portal", "the customer comes back to the portal after signing in")
    shot("portal-list")
    follow(driver.find_element(By.LINK_TEXT, "Submit a new request"))
    attachment = os.path.join(SHOTS, "receipt.png")
    with open(attachment, "wb") as out:
        out.write(base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="))
    driver.find_element(By.ID, "subject").send_keys("Card was charged twice")
    driver.find_element(By.ID, "body").send_keys("Two charges on 3 May, receipt attached.")
    driver.find_element(By.ID, "files").send_keys(attachment)
    shot("portal-new")
    click_button("Submit request")
    check("your request was received" in text(), "the request is confirmed")
    check("receipt.png" in text(), "its attachment is listed")
    check("Card was charged twice" in driver.title, "the request's page opens")
    shot("portal-ticket")
    open_page("/portal")
    check("Card was charged twice" in text(), "the request is in the customer's list")

    # The session ends while a reply is being written: signing in again brings the customer back
    # to the request with the reply still in its field (the script's draft), and it is sent.
    follow(driver.find_element(By.LINK_TEXT, "Card was charged twice"))
    request_url = driver.current_url
    driver.find_element(By.ID, "reply-body").send_keys("Any news on the refund?")
    driver.delete_cookie("__Host-rampart_session")
    click_button("Send reply")
    check(driver.current_url.startswith(BASE + "/login?return_to="), f"a reply sent after the session ended goes to sign-in ({driver.current_url.replace(BASE, '')})")
    driver.find_element(By.ID, "email").send_keys(customer["email"])
    driver.find_element(By.ID, "password").send_keys(customer["password"])
    click_button("Sign in")
    check(driver.current_url == request_url, f"signing in again comes back to the request ({driver.current_url.replace(BASE, '')})")
    kept = driver.find_element(By.ID, "reply-body").get_attribute("value")
    check(kept == "Any news on the refund?", "the unsent reply is back in its field")
    shot("portal-draft-restored")
    click_button("Send reply")
    check("Your reply was sent." in text() and "Any news on the refund?" in text(), "the kept reply is sent")
    check(driver.find_element(By.ID, "reply-body").get_attribute("value") == "", "a sent reply's draft is gone")

    # The agent signs in with password and TOTP and works a ticket.
    agent = config["agent"]
    sign_in(agent["email"], agent["password"], "/agent/tickets?view=all")
    check(driver.find_element(By.ID, "code") is not None, "the second factor is asked for")
    shot("sign-in-totp")
    while int(time.time()) // 30 <= agent["totp_used_step"]:
        time.sleep(1)
    driver.find_element(By.ID, "code").send_keys(totp(agent["totp_secret"], int(time.time()) // 30))
    click_button("Verify")
    check(driver.current_url == BASE + "/agent/tickets?view=all", f"the agent comes back to the list after signing in ({driver.current_url.replace(BASE, '')}: {text()[:300]})")
    check(config["work_subject"] in text(), "the department's ticket is listed")
    shot("agent-list")
    driver.find_element(By.TAG_NAME, "body").send_keys("j")
    focused = driver.execute_script("return document.activeElement && document.activeElement.closest('[data-row]') !== null")
    check(focused, "the j shortcut moves to the first ticket")
    follow(driver.find_element(By.LINK_TEXT, config["work_subject"]))
    check(config["work_subject"] in driver.title, "the ticket opens")
    driver.find_element(By.ID, "reply-body").send_keys("We refunded the second charge.")
    click_button("Send reply")
    check("Reply sent." in text() and "We refunded the second charge." in text(), "the reply is sent")
    driver.find_element(By.ID, "note-body").send_keys("Refund reference R-77.")
    click_button("Add internal note")
    check("Internal note added." in text() and "Refund reference R-77." in text(), "the note is added")
    notes = driver.find_elements(By.CSS_SELECTOR, "li.message.note")
    check(len(notes) == 1 and "Internal note" in notes[0].text, "the note is marked as internal")
    Select(driver.find_element(By.ID, "status")).select_by_visible_text("Resolved")
    Select(driver.find_element(By.ID, "assignee")).select_by_visible_text("Me")
    click_button("Save changes")
    check("Changes saved." in text(), "status and assignee are saved")
    facts = driver.find_element(By.CSS_SELECTOR, "dl.facts").text
    check("Resolved" in facts and "You" in facts, "the ticket shows the new status and assignee")
    shot("agent-ticket")
    open_page("/agent/tickets?view=mine")
    check(config["work_subject"] in text(), "the ticket is now the agent's")
    open_page("/agent/me")
    shot("agent-me")
    follow(driver.find_element(By.LINK_TEXT, "Where I am signed in"))
    check(driver.current_url == BASE + "/account/sessions", "the Me page links the agent's sessions")
    check("This device" in text(), "the sessions page marks this device")
    shot("account-sessions")

    # A stored XSS payload stays inert wherever it is shown.
    open_page("/agent/tickets?view=all")
    check(no_alert() and driver.execute_script("return window.pwned === undefined"), "the list with an XSS subject runs no script")
    open_page("/agent/tickets/" + config["xss_ticket"])
    check(no_alert() and driver.execute_script("return window.pwned === undefined"), "the ticket with an XSS body runs no script")
    check("<script>window.pwned=1</script>" in text(), "the payload is shown as text")
    check(len(driver.find_elements(By.CSS_SELECTOR, "main script, main img[onerror]")) == 0, "no script or handler element is in the page")
    shot("agent-xss-ticket")

    # An admin changes the password policy and creates an API key: its secret shown once, then only its prefix.
    admin = config["admin"]
    sign_in(admin["email"], admin["password"], "/admin")
    check(driver.current_url == BASE + "/admin/security/users", "the admin comes back to the console's users after signing in")
    check("admin@acme.test" in text() and "agent@acme.test" in text(), "the tenant's users are listed")
    shot("admin-users")
    search = driver.find_element(By.ID, "q")
    search.send_keys("agent@")
    follow(driver.find_element(By.CSS_SELECTOR, "form[role=search] button[type=submit]"))
    listed = driver.find_element(By.CSS_SELECTOR, "main table").text
    check("agent@acme.test" in listed and "admin@acme.test" not in listed, "the user search finds the agent alone")
    shot("admin-users-search")
    follow(driver.find_element(By.LINK_TEXT, "Policies"))
    Select(driver.find_element(By.ID, "staff-preset")).select_by_value("custom")
    length = driver.find_element(By.ID, "staff-minimum_length")
    length.clear()
    length.send_keys("14")
    follow(driver.find_element(By.CSS_SELECTOR, "form[action='/admin/security/policies/staff'] button[type=submit]"))
    check("Password policy for staff saved." in text(), "the staff password policy is saved")
    check(driver.find_element(By.ID, "staff-minimum_length").get_attribute("value") == "14", "the policy shows the new minimum length")
    shot("admin-policies")
    follow(driver.find_element(By.LINK_TEXT, "API keys"))
    driver.find_element(By.ID, "key-name").send_keys("Reporting export")
    click_button("Create API key")
    secret = driver.find_element(By.ID, "secret").text
    check(secret.startswith("rk_") and len(secret) > 40, "the new key's secret is shown")
    check("shown only this once" in text(), "the page says the secret is shown once")
    shot("admin-api-key-created")
    follow(driver.find_element(By.LINK_TEXT, "Back to API keys"))
    prefix = "rk_" + secret[3:].split("_")[0] + "_"
    check(secret not in driver.page_source and secret[-20:] not in driver.page_source, "the list never shows the secret again")
    check(prefix in text() and "Reporting export" in text(), "the list shows the key by its prefix")
    shot("admin-api-keys")
    for section, name in [("Single sign-on", "admin-sso"), ("OAuth clients", "admin-oauth-clients")]:
        follow(driver.find_element(By.LINK_TEXT, section))
        check(driver.title.startswith(section), f"the {section} page opens")
        shot(name)
    follow(driver.find_element(By.LINK_TEXT, "Teams"))
    driver.find_element(By.ID, "name").send_keys("Night shift")
    click_button("Create team")
    check("Created." in text() and "Members" in text(), "a team is created and its page offers its members")
    agent_choice = driver.find_element(By.XPATH, "//label[@class='choice'][span[normalize-space()='Agent']]/input")
    agent_choice.click()
    click_button("Save members")
    check("Members saved." in text(), "the agent is made a member of the team by name")
    check(driver.find_element(By.XPATH, "//label[@class='choice'][span[normalize-space()='Agent']]/input").is_selected(), "the agent stays ticked")
    shot("admin-team")

    # Signing out ends the session: back to sign-in, and the old cookie no longer works.
    old_cookie = driver.get_cookie("__Host-rampart_session")
    check(old_cookie is not None, "the admin has a session cookie")
    click_button("Sign out")
    check(driver.current_url == BASE + "/login", "signing out goes back to sign-in")
    check(driver.get_cookie("__Host-rampart_session") is None, "the session cookie is cleared")
    driver.add_cookie({"name": old_cookie["name"], "value": old_cookie["value"], "path": "/", "secure": True, "httpOnly": True})
    open_page("/admin/security/users")
    check(driver.current_url.startswith(BASE + "/login?return_to="), "the old session cookie no longer opens the console")
    shot("admin-signed-out")

    # The customer follows the worked ticket: the reply, never the note.
    sign_in(customer["email"], customer["password"], "/portal/tickets/" + config["work_ticket"])
    page = text()
    check("We refunded the second charge." in page, "the customer sees the reply")
    check("Refund reference R-77." not in page and "Internal note" not in page, "the customer never sees the note")
    shot("portal-followed")
    documents_checked()
    check(len(pages_seen) >= 12, f"CSP checked on {len(pages_seen)} documents")
    print(f"browser suite: all {checks} checks held", flush=True)
finally:
    driver.quit()
