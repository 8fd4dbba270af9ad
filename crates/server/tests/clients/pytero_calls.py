"""Calls every method of pytero (sanamforoughi), unchanged, against accord serve, and checks each
call's effect. Run by run.sh with pytero on PYTHONPATH. Only the host is changed."""
import json
import os

from pytero import NateroClient

URL = os.environ["ACCORD_URL"]
KEY = os.environ["ACCORD_KEY"]
NateroClient.api_hosts["us"] = URL + "/api/v2/"


def client():
    # pytero caches list answers per client, so each check gets its own.
    return NateroClient(KEY)


def call(name, check):
    try:
        passed = bool(check())
    except Exception as e:  # a failed call is reported, not raised
        print(f"  {name}: {type(e).__name__}: {str(e)[:200]}")
        passed = False
    print(("PASS " if passed else "FAIL ") + name)


def ok(r):
    return 200 <= r.status_code < 300 and r.json().get("status_is_ok") is True


accounts = {"records": [
    {"account_id": "A1", "name": "Acme", "join_date": 1598907978483},
    {"account_id": "A2", "name": "Beta", "join_date": 1609804800000},
    {"account_id": "A3", "name": "Core", "join_date": 1609804800000},
]}
users = {"records": [{"user_id": u, "account_id": "A1", "email": f"{u}@acme.io"} for u in ("u1", "u2", "u3")]}


def ids(rows, field):
    return [r[field] for r in rows]


call("post accounts", lambda: ok(client().post("accounts", data=json.dumps(accounts), params={})))
call("post account_users", lambda: ok(client().post("account_users", data=json.dumps(users), params={})))
call("post account_contacts", lambda: ok(client().post(
    "account_contacts", data=json.dumps({"records": [{"account_id": "A1", "email": "boss@acme.io"}]}), params={})))
call("accounts", lambda: ids(client().accounts(), "account_id") == ["A3", "A2", "A1"])
call("accounts raw", lambda: ok(client().accounts(raw=True)))
call("accounts by name asc", lambda: ids(client().accounts(order_by="name", direction="asc"), "name")
     == ["Acme", "Beta", "Core"])
call("accounts by join_date desc", lambda: ids(client().accounts(order_by="join_date"), "account_id")
     == ["A3", "A2", "A1"])
call("accounts include list", lambda: len(client().accounts(include=["custom_value_dimensions"])) == 3)
call("accounts_iter", lambda: sorted(ids(client().accounts_iter(), "account_id")) == ["A1", "A2", "A3"])
call("account", lambda: client().account("A1").json()["result"]["name"] == "Acme")
call("account unknown is 404", lambda: client().account("NOPE").status_code == 404)
call("account_users", lambda: ids(client().account_users("A1"), "user_id") == ["u3", "u2", "u1"])
call("account_users asc", lambda: ids(client().account_users("A1", direction="asc"), "user_id") == ["u1", "u2", "u3"])
call("account_users by email", lambda: ids(client().account_users("A1", order_by="email"), "user_id")
     == ["u3", "u2", "u1"])
call("account_users raw", lambda: ok(client().account_users("A1", raw=True)))
call("account_users_iter", lambda: sorted(ids(client().account_users_iter("A1"), "user_id")) == ["u1", "u2", "u3"])
call("get account_users", lambda: ok(client().get("account_users")))
call("get account_contacts", lambda: ids(client().get("account_contacts").json()["results"], "email")
     == ["boss@acme.io"])
call("get metrics", lambda: ok(client().get("metrics")))
call("get with a trailing slash", lambda: ok(client().get("accounts/A1/users/")))
call("accounts include_inactive", lambda: (
    client().get("accounts/A3").status_code == 200
    and __import__("requests").delete(URL + "/api/v2/accounts/A3", params={"api_key": KEY}).status_code == 200
    and ids(client().accounts(), "account_id") == ["A2", "A1"]
    and ids(client().accounts(include_inactive=True), "account_id") == ["A3", "A2", "A1"]))
