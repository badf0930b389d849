*** Settings ***
Documentation     Authentication Token Validation: the handshake accepts a valid JWT from each
...               carrier and refuses every kind of bad or forged token before the upgrade, with
...               HTTP 401 and its documented reason (docs/protocol.md, "Rejection reasons"), also on
...               RS256 and ES256 services. A refreshed token opens a new connection, and sent in band
...               keeps an open one past the old token's expiry, which otherwise closes it with 4001.
...               Users cannot publish or subscribe as one another; incomplete handshakes are closed;
...               query tokens stay out of the service log; foreign Origins are refused. Tests that
...               need settings of their own start a private reference service (`Use Private Service`).

Library           Collections
Resource          ../resources/service.resource
Resource          ../resources/protocol.resource
Resource          ../resources/events.resource
Resource          ../resources/expiry.resource
Resource          ../resources/tabs.resource

Suite Setup       Use Service Under Test
Suite Teardown    Release Service Under Test
Test Teardown     Close All Connections

Test Tags         p0    auth


*** Variables ***
# Token expiry on an open connection (private service): a short access token lifetime, the
# warning before exp, and how late the notice and the 4001 close may be (docs/protocol.md: tests
# allow 1 s). A refresh at the warning (exp - 2 s) then outlasts the old exp by the tolerance
# before the new token's warning is due.
${SHORT_TOKEN_TTL}                5
${EXPIRY_WARNING}                 2
${EXPIRY_TOLERANCE}               1
# The private service's request timeout, and how late its 408 may come on a loaded machine.
${REQUEST_TIMEOUT}                1
${HANDSHAKE_TIMEOUT_TOLERANCE}    1
# The only Origin the allowlist tests' private service accepts.
${ALLOWED_ORIGIN}                 https://app.example


*** Test Cases ***
Valid Token In Authorization Header Is Accepted
    [Documentation]    Protects the standard carrier for non-browser clients.
    [Template]    Valid Token Should Be Accepted
    header

Valid Token In Query Parameter Is Accepted
    [Documentation]    Protects the carrier browsers can use (they cannot set headers).
    [Template]    Valid Token Should Be Accepted
    query

Valid Token In Subprotocol Header Is Accepted
    [Documentation]    Protects the Sec-WebSocket-Protocol carrier; the server must pick
    ...    ``bearer`` and never echo the token back.
    ${details}    Valid Token Should Be Accepted    subprotocol
    Should Be Equal    ${details.subprotocol}    bearer

Missing Token Is Refused
    [Documentation]    Protects against anonymous connections.
    ${refusal}    Connect Should Be Refused    ${WS_URL}    401
    Should Be Equal    ${refusal.json}[error]    missing_token

Malformed Token Is Refused
    [Documentation]    Protects the parser: garbage is a clean 401, not a server error.
    [Template]    Handshake Should Be Refused For Reason
    not-a-jwt    malformed_token
    ${{ "a.b.c" }}    malformed_token

Unsigned Tokens Are Refused
    [Documentation]    Protects against ``alg: none``: in any spelling, with an empty signature, a made-up
    ...    one or the signature of a token the service issued, the token is refused with
    ...    ``algorithm_not_allowed`` at the handshake and as the Bearer token of ``POST /events``.
    [Tags]    attack
    [Template]    Forged Token Should Be Refused
    # REASON    HOW THE TOKEN IS MADE (from the claims of a valid access token)
    algorithm_not_allowed    Create Unsigned Token    alg=none
    algorithm_not_allowed    Create Unsigned Token    alg=None
    algorithm_not_allowed    Create Unsigned Token    alg=NONE
    algorithm_not_allowed    Create Unsigned Token    alg=nOnE
    algorithm_not_allowed    Create Unsigned Token    signature=c2lnbmF0dXJl
    algorithm_not_allowed    Create Unsigned Token With An Issued Signature

Tokens Signed Without The Service's Key Are Refused
    [Documentation]    Protects against attackers without the HMAC secret: a token signed with another
    ...    algorithm, an ES256 ``r = s = 0`` signature, another key, an empty key or a public key PEM as
    ...    the secret is refused with its reason. Key confusion needs an RS*/ES* service (see the RS256
    ...    tests): against HS256 the PEM is just a wrong secret, hence ``invalid_signature``.
    [Tags]    attack
    [Setup]    Service Should Sign With HMAC
    [Template]    Forged Token Should Be Refused
    # REASON    HOW THE TOKEN IS MADE (from the claims of a valid access token)
    algorithm_not_allowed    Create Token    algorithm=HS512    key=${{ "k" * 64 }}
    algorithm_not_allowed    Create Psychic Signature Token
    invalid_signature    Create Key Confusion Token
    invalid_signature    Create Token With Bad Signature    defect=WRONG_KEY
    invalid_signature    Create Token With Empty Key

Issued Tokens Are Refused Once Changed Or Used For Another Purpose
    [Documentation]    Protects the signature over the claims: a token the service issued, with its
    ...    ``sub``, ``roles`` or ``exp`` changed and its signature kept, is ``invalid_signature``; its
    ...    refresh token opens no connection (``wrong_token_type``).
    [Tags]    attack
    [Template]    Forged Token Should Be Refused
    # REASON    HOW THE TOKEN IS MADE (from the claims of a valid access token)
    invalid_signature    Tamper With An Issued Token    ${{ {"sub": "bob"} }}
    invalid_signature    Tamper With An Issued Token    ${{ {"roles": ["publisher", "metrics"]} }}
    invalid_signature    Tamper With An Issued Token    ${{ {"exp": 4102444800} }}
    wrong_token_type    Issued Refresh Token

Tokens With A Damaged Signature Are Refused
    [Documentation]    Protects integrity: a correctly signed token whose signature was then changed,
    ...    cut to half its bytes or stripped is ``invalid_signature``.
    [Tags]    attack    signing-key
    [Setup]    Signing Key Should Be Known
    [Template]    Forged Token Should Be Refused
    # REASON    HOW THE TOKEN IS MADE (from the claims of a valid access token)
    invalid_signature    Create Token With Bad Signature    defect=ALTERED
    invalid_signature    Create Token With Bad Signature    defect=TRUNCATED
    invalid_signature    Create Token With Bad Signature    defect=STRIPPED

Tokens With A Kid Or Crit Header Of Any Type Are Refused
    [Documentation]    Protects the header parser: a correctly signed token whose ``kid`` is not a string
    ...    (number, null, boolean, list, object) or whose ``crit`` is not a non-empty list of supported
    ...    extensions is ``malformed_token``, a clean 401 and never a server error.
    [Tags]    attack    signing-key
    [Setup]    Signing Key Should Be Known
    [Template]    Forged Token Should Be Refused
    # REASON    HOW THE TOKEN IS MADE (from the claims of a valid access token)
    malformed_token    Create Token With Headers    ${{ {"kid": 7} }}
    malformed_token    Create Token With Headers    ${{ {"kid": None} }}
    malformed_token    Create Token With Headers    ${{ {"kid": True} }}
    malformed_token    Create Token With Headers    ${{ {"kid": ["key-1"]} }}
    malformed_token    Create Token With Headers    ${{ {"kid": {"url": "https://evil.example"}} }}
    malformed_token    Create Token With Headers    ${{ {"crit": ["x-unknown"], "x-unknown": 1} }}
    malformed_token    Create Token With Headers    ${{ {"crit": "exp"} }}
    malformed_token    Create Token With Headers    ${{ {"crit": []} }}
    malformed_token    Create Token With Headers    ${{ {"crit": 7} }}

Tokens With A Broken Structure Are Refused
    [Documentation]    Protects the parser: a token with a segment missing, bad base64, a header or
    ...    payload that is not JSON, a payload that is not an object, or a ``sub`` that is not a
    ...    non-empty string is ``malformed_token``.
    [Tags]    attack    signing-key
    [Setup]    Signing Key Should Be Known
    [Template]    Forged Token Should Be Refused
    # REASON    HOW THE TOKEN IS MADE (from the claims of a valid access token)
    malformed_token    Create Malformed Token    NOT_THREE_SEGMENTS
    malformed_token    Create Malformed Token    BAD_BASE64
    malformed_token    Create Malformed Token    HEADER_NOT_JSON
    malformed_token    Create Malformed Token    PAYLOAD_NOT_JSON
    malformed_token    Create Malformed Token    PAYLOAD_NOT_OBJECT
    malformed_token    Create Token With Claim    sub    ${EMPTY}
    malformed_token    Create Token With Claim    sub    ${42}

Tokens Outside Their Lifetime Are Refused
    [Documentation]    Protects the time claims: a correctly signed token that expired (a minute or a
    ...    second ago), is not valid yet (``nbf`` or ``iat`` in the future) or was issued to live
    ...    longer than the service allows is refused with its reason.
    [Tags]    attack    signing-key
    [Setup]    Signing Key Should Be Known
    [Template]    Forged Token Should Be Refused
    # REASON    HOW THE TOKEN IS MADE (from the claims of a valid access token)
    token_expired    Create Expired Token    expired_by=1 min
    token_expired    Create Expired Token    expired_by=1 s
    token_not_yet_valid    Create Token With Claim    nbf    ${{ int(time.time()) + 300 }}
    token_not_yet_valid    Create Token    issued_at=5 min
    token_lifetime_too_long    Create Token    lifetime=2 hours

Tokens With Wrong Or Missing Claims Are Refused
    [Documentation]    Protects the other claims: a correctly signed token for another audience or from
    ...    another issuer, without one of the required claims, of the refresh type or for a user the
    ...    service does not know is refused with its reason.
    [Tags]    attack    signing-key
    [Setup]    Signing Key Should Be Known
    [Template]    Forged Token Should Be Refused
    # REASON    HOW THE TOKEN IS MADE (from the claims of a valid access token)
    invalid_audience    Create Token    audience=some-other-service
    invalid_issuer    Create Token    issuer=https://evil.example
    missing_claim    Create Token Without Claim    exp
    missing_claim    Create Token Without Claim    sub
    missing_claim    Create Token Without Claim    iss
    missing_claim    Create Token Without Claim    aud
    missing_claim    Create Token Without Claim    typ
    wrong_token_type    Create Token With Claim    typ    refresh
    unknown_user    Create Token With Claim    sub    mallory

Key Confusion Is Refused By A Service That Signs With RS256
    [Documentation]    Protects an RS256 service against algorithm confusion: an HS256 or HS512 token
    ...    whose HMAC secret is the public key the service publishes in its JWKS, with the service's
    ...    ``kid`` or without one, is ``algorithm_not_allowed``, as are ``alg: none`` and ES256 tokens.
    ...    The service's own tokens open connections (checked in the setup).
    [Tags]    attack    key-confusion
    [Setup]    Use Private Service Signing With    RS256
    [Template]    Forged Token Should Be Refused
    # REASON    HOW THE TOKEN IS MADE (from the claims of a valid access token)
    algorithm_not_allowed    Create Key Confusion Token    public_key=${SERVICE_PUBLIC_KEY}    kid=${SERVICE_KID}
    algorithm_not_allowed    Create Key Confusion Token    public_key=${SERVICE_PUBLIC_KEY}
    algorithm_not_allowed    Create Key Confusion Token    public_key=${SERVICE_PUBLIC_KEY}    algorithm=HS512
    algorithm_not_allowed    Create Unsigned Token    kid=${SERVICE_KID}
    algorithm_not_allowed    Create Psychic Signature Token    kid=${SERVICE_KID}
    [Teardown]    Release Private Signing Service

Foreign Keys Are Refused By A Service That Signs With RS256
    [Documentation]    Protects an RS256 service against keys that are not its own: an unknown ``kid`` is
    ...    ``unknown_key``; a token signed with another RSA key, also one it carries as ``jwk`` or names
    ...    as ``jku``, a truncated signature or a changed payload is ``invalid_signature``.
    [Tags]    attack
    [Setup]    Use Private Service Signing With    RS256
    [Template]    Forged Token Should Be Refused
    # REASON    HOW THE TOKEN IS MADE (from the claims of a valid access token)
    unknown_key    Create Token    kid=no-such-key
    invalid_signature    Create Token With Bad Signature    defect=WRONG_KEY    kid=${SERVICE_KID}
    invalid_signature    Create Token Carrying Its Own Key    RS256    header=jwk
    invalid_signature    Create Token Carrying Its Own Key    RS256    header=jwk    kid=${SERVICE_KID}
    invalid_signature    Create Token Carrying Its Own Key    RS256    header=jku
    invalid_signature    Create Token With Bad Signature    defect=TRUNCATED
    invalid_signature    Tamper With An Issued Token    ${{ {"sub": "bob"} }}
    [Teardown]    Release Private Signing Service

Psychic Signatures Are Refused By A Service That Signs With ES256
    [Documentation]    Protects an ES256 service against CVE-2022-21449: a signature with ``r = s = 0`` is
    ...    ``invalid_signature`` with the service's ``kid`` or without one; ES384, key confusion with the
    ...    published EC key and ``alg: none`` are ``algorithm_not_allowed``; another EC key is
    ...    ``invalid_signature``. The service's own tokens open connections (checked in the setup).
    [Tags]    attack    psychic-signature
    [Setup]    Use Private Service Signing With    ES256
    [Template]    Forged Token Should Be Refused
    # REASON    HOW THE TOKEN IS MADE (from the claims of a valid access token)
    invalid_signature    Create Psychic Signature Token    kid=${SERVICE_KID}
    invalid_signature    Create Psychic Signature Token
    algorithm_not_allowed    Create Psychic Signature Token    algorithm=ES384    kid=${SERVICE_KID}
    algorithm_not_allowed    Create Key Confusion Token    public_key=${SERVICE_PUBLIC_KEY}    kid=${SERVICE_KID}
    algorithm_not_allowed    Create Unsigned Token    kid=${SERVICE_KID}
    invalid_signature    Create Token With Bad Signature    defect=WRONG_KEY    kid=${SERVICE_KID}
    [Teardown]    Release Private Signing Service

Open Connection Is Warned And Then Closed When Its Token Expires
    [Documentation]    Protects the expiry watch: a connection lives only as long as its access token.
    ...    Measured from the token's ``exp``: ``auth.expiring`` (naming that ``exp``) comes
    ...    ``${EXPIRY_WARNING}`` s before it, at most ``${EXPIRY_TOLERANCE}`` s late; the connection still
    ...    works after the notice; the close with 4001 ``token expired`` comes after ``exp``, at most
    ...    ``${EXPIRY_TOLERANCE}`` s late.
    [Tags]    -p0    p1    expiry
    [Setup]    Use Private Service    access_token_ttl=${SHORT_TOKEN_TTL}    expiry_warning=${EXPIRY_WARNING}
    ${token}    Get Access Token
    ${exp}    Get Token Claim    ${token}    exp
    Open Connection With Token    ${token}
    Expiry Notice Should Arrive    ${exp}    ${EXPIRY_WARNING}    ${EXPIRY_TOLERANCE}
    Echo Should Round Trip    still open until exp
    Token Expiry Close Should Come    ${exp}    ${EXPIRY_TOLERANCE}
    [Teardown]    Release Private Service

Refreshed Token Keeps An Open Connection Past The Old Expiry
    [Documentation]    Protects in-band refresh: after ``auth.expiring``, an ``auth.refresh`` with a fresh
    ...    access token (from ``/auth/refresh``) is answered ``auth.refreshed`` naming its ``exp``; the
    ...    connection is still open ``${EXPIRY_TOLERANCE}`` s after the old ``exp``, keeps its
    ...    ``connection_id`` and its user's subscriptions (a topic event still arrives), and the watch
    ...    starts over: the next notice names the new ``exp`` and the 4001 close follows it.
    [Tags]    -p0    p1    expiry    refresh
    [Setup]    Use Private Service    access_token_ttl=${SHORT_TOKEN_TTL}    expiry_warning=${EXPIRY_WARNING}
    ${tokens}    Log In
    ${old_exp}    Get Token Claim    ${tokens}[access_token]    exp
    ${welcome}    Open Connection With Token    ${tokens}[access_token]
    Subscribe To Topic    news
    Expiry Notice Should Arrive    ${old_exp}    ${EXPIRY_WARNING}    ${EXPIRY_TOLERANCE}
    ${new_exp}    Refresh On The Connection    ${tokens}[refresh_token]
    Connection Should Stay Open Until    ${{ float($old_exp) + float($EXPIRY_TOLERANCE) }}
    Topic Event Should Arrive    news
    Tabs Should Be    ${welcome}[connection_id]
    Connection Should Expire At    ${new_exp}    ${EXPIRY_TOLERANCE}
    [Teardown]    Release Private Service

User Cannot Publish To Another User Over The WebSocket
    [Documentation]    Protects users from each other: without the ``publisher`` role, a publish to
    ...    another user, or to a topic that user subscribed to, is refused with ``forbidden`` and stores
    ...    nothing: the other user's next event is a later one, with the next seq. Publishing to one's
    ...    own queue still works.
    [Tags]    authorization    events
    ${last_seq}    Start From An Empty Queue    bob    ${OTHER_USER_NAME}    ${OTHER_USER_PASSWORD}
    Subscribe To Topic    bob-and-friends    connection=bob
    Open Authenticated Connection    alice
    Publish Should Be Forbidden    ${{ {"user": $OTHER_USER_NAME} }}    connection=alice
    Publish Should Be Forbidden    ${{ {"topic": "bob-and-friends"} }}    connection=alice
    Publish Event    a note to myself    user=${USER_NAME}    connection=alice
    Nothing Should Have Reached    ${OTHER_USER_NAME}    ${last_seq}    connection=bob

User Cannot Subscribe To Another User's Private Topic
    [Documentation]    Protects private topics: ``user.<name>`` and ``user.<name>.<anything>`` belong to
    ...    ``<name>``; another user's subscribe is refused with ``forbidden`` naming the ``topic`` field,
    ...    so an event published there does not reach them. One's own private topic is allowed.
    [Tags]    authorization    events
    Open Authenticated Connection    alice
    Subscribe Should Be Forbidden    user.${OTHER_USER_NAME}
    Subscribe Should Be Forbidden    user.${OTHER_USER_NAME}.inbox
    Subscribe Should Be Forbidden    user.${OTHER_USER_NAME}.inbox.urgent
    Subscribe To Topic    user.${USER_NAME}.inbox
    Open Publisher Session
    ${answer}    Publish Topic Event Over HTTP    user.${OTHER_USER_NAME}.inbox    for bob only
    ${recipients}    Evaluate    [delivery["user"] for delivery in $answer["deliveries"]]
    Should Not Contain    ${recipients}    ${USER_NAME}

Incomplete Handshake Is Closed After The Request Timeout
    [Documentation]    Protects against slowloris: a client that sends the request line and headers of
    ...    an upgrade but never the blank line that ends them is answered 408 and closed once the
    ...    request timeout (``${REQUEST_TIMEOUT}`` s on this private service) has passed, at most
    ...    ``${HANDSHAKE_TIMEOUT_TOLERANCE}`` s late; meanwhile other clients are served.
    [Tags]    -p0    p1    handshake    slowloris
    [Setup]    Use Private Service    request_timeout=${REQUEST_TIMEOUT}
    Open Incomplete Handshake    ${WS_URL}    alias=slow
    Open Authenticated Connection
    Echo Should Round Trip    served while a handshake hangs
    ${outcome}    Incomplete Handshake Should Be Closed Within    slow
    ...    ${{ float($REQUEST_TIMEOUT) + float($HANDSHAKE_TIMEOUT_TOLERANCE) }}
    Should Be Equal As Integers    ${outcome.status}    408    msg=The server answered: ${outcome.response}
    Should Be True    ${outcome.held} >= ${REQUEST_TIMEOUT}
    ...    msg=Closed after ${outcome.held} s, before the request timeout of ${REQUEST_TIMEOUT} s.
    Echo Should Round Trip    still served
    [Teardown]    Release Private Service

Query Token Is Redacted In The Service Log
    [Documentation]    Protects tokens sent as ``?access_token=``: neither an accepted nor a refused
    ...    token appears in the service's log, nor anything else that looks like a JWT; the log shows
    ...    the path as ``/ws?access_token=[redacted]``.
    [Tags]    secrets    log
    [Setup]    Use Private Service
    ${token}    Get Access Token
    Open Connection With Token    ${token}    query
    ${refused}    Create Expired Token    ${{ {"sub": $USER_NAME, "typ": "access"} }}
    Handshake Should Be Refused For Reason    ${refused}    token_expired    carrier=query
    Wait Until Keyword Succeeds    ${TIMEOUT}    50ms
    ...    Service Log Should Show Redacted Query Tokens    ${PRIVATE_SERVICE}[log_file]    2
    Service Log Should Hold No Token    ${PRIVATE_SERVICE}[log_file]    ${token}    ${refused}
    [Teardown]    Release Private Service

Handshake From A Foreign Origin Is Refused
    [Documentation]    Protects against cross-site WebSocket hijacking: with an Origin allowlist, a
    ...    handshake from any other Origin (other host, scheme or port, a look-alike, ``null``) is
    ...    refused with 403 ``origin_not_allowed``, also with a valid token, and before the token is
    ...    checked: without one it is the same 403, not a 401.
    [Tags]    origin
    [Setup]    Use Private Service    allowed_origins=${ALLOWED_ORIGIN}
    [Template]    Handshake From Origin Should Be Refused
    https://evil.example
    http://app.example
    https://app.example:8443
    https://app.example.evil.example
    null
    [Teardown]    Release Private Service

Handshake From An Allowed Origin Is Accepted
    [Documentation]    Protects the allowlist's other side: a handshake from the allowed Origin connects
    ...    and is served.
    [Tags]    origin
    [Setup]    Use Private Service    allowed_origins=${ALLOWED_ORIGIN}
    ${token}    Get Access Token
    ${url}    ${options}    Token Carrier    ${token}
    Connect    ${url}    alias=allowed    origin=${ALLOWED_ORIGIN}    &{options}
    Welcome Should Arrive
    Echo Should Round Trip    from the allowed origin    connection=allowed
    [Teardown]    Release Private Service

Bad Token In Query Parameter Is Refused
    [Documentation]    Protects the query carrier with the same checks as the header.
    [Tags]    signing-key
    Signing Key Should Be Known
    ${claims}    Access Token Claims
    ${token}    Create Expired Token    ${claims}
    Handshake Should Be Refused For Reason    ${token}    token_expired    carrier=query

Bad Token In Subprotocol Header Is Refused
    [Documentation]    Protects the subprotocol carrier with the same checks as the header.
    [Tags]    signing-key
    Signing Key Should Be Known
    ${claims}    Access Token Claims
    ${token}    Create Expired Token    ${claims}
    Handshake Should Be Refused For Reason    ${token}    token_expired    carrier=subprotocol

Wrong Password Is Refused At Login
    [Documentation]    Protects the HTTP login: bad credentials get 401 and no tokens.
    ${error}    Log In Should Fail    ${USER_NAME}    wrong-password
    Dictionary Should Not Contain Key    ${error}    access_token

Refreshed Access Token Opens A New Connection
    [Documentation]    Protects session continuity: refresh over HTTP, then reconnect with the new token.
    ${tokens}    Log In
    Connect With Token    ${tokens}[access_token]    alias=before
    Welcome Should Arrive
    Close Connection
    ${refreshed}    Refresh Tokens    ${tokens}[refresh_token]
    Should Not Be Equal    ${refreshed}[access_token]    ${tokens}[access_token]
    Connect With Token    ${refreshed}[access_token]    alias=after
    Welcome Should Arrive
    Echo Should Round Trip    refreshed

Access Token Cannot Be Used To Refresh
    [Documentation]    Protects the refresh endpoint from access tokens.
    ${tokens}    Log In
    ${error}    Refresh Should Be Refused    ${tokens}[access_token]
    Should Be Equal    ${error}[error]    wrong_token_type
