"""Wait for the login page, log in as `secretary`, fetch /members/ and check it lists members."""

import http.cookiejar
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

base = sys.argv[1]
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
deadline = time.monotonic() + 300
while True:
    try:
        page = opener.open(f"{base}/accounts/login/", timeout=5).read().decode()
        break
    except (urllib.error.URLError, ConnectionError):
        if time.monotonic() > deadline:
            sys.exit("the login page never came up")
        time.sleep(2)
token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
form = {"csrfmiddlewaretoken": token, "username": "secretary", "password": "liudong-demo"}
response = opener.open(f"{base}/accounts/login/", urllib.parse.urlencode(form).encode())
if response.url.rstrip("/") != base:
    sys.exit(f"login did not land on the home page but on {response.url}")
members = opener.open(f"{base}/members/").read().decode()
rows = len(re.findall(r'href="/members/\d+/"', members))
if "党员" not in members or rows < 5:
    sys.exit("the member list is not in Chinese or lists too few members")
print(f"logged in as secretary; /members/ lists {rows} member links")
