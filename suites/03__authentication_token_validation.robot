*** Settings ***
Documentation     Authentication Token Validation: the handshake accepts a valid JWT from each
...               carrier and refuses every kind of bad token before the upgrade, with HTTP 401
...               and a reason; refreshed tokens work for new connections.

Library           Collections
Resource          ../resources/service.resource
Resource          ../resources/protocol.resource

Suite Setup       Use Service Under Test
Suite Teardown    Release Service Under Test
Test Teardown     Close All Connections

Test Tags         p0    auth


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

Token With Broken Structure Is Refused
    [Documentation]    Protects against tokens with a header that is not JSON.
    [Tags]    signing-key
    Signing Key Should Be Known
    ${token}    Create Malformed Token    header_not_json
    Handshake Should Be Refused For Reason    ${token}    malformed_token

Expired Token Is Refused
    [Documentation]    Protects expiry: a correctly signed token past its exp is refused.
    [Tags]    signing-key
    Signing Key Should Be Known
    ${claims}    Access Token Claims
    ${token}    Create Expired Token    ${claims}    expired_by=1 min
    Handshake Should Be Refused For Reason    ${token}    token_expired

Token With Bad Signature Is Refused
    [Documentation]    Protects integrity: a token whose signature does not verify is refused.
    [Tags]    signing-key
    Signing Key Should Be Known
    ${claims}    Access Token Claims
    ${token}    Create Token With Bad Signature    ${claims}
    Handshake Should Be Refused For Reason    ${token}    invalid_signature

Token Signed With Another Key Is Refused
    [Documentation]    Protects against tokens minted by someone who does not hold the key.
    ${claims}    Access Token Claims
    ${other_key}    Generate Secret
    ${token}    Create Token    ${claims}    key=${other_key}
    Handshake Should Be Refused For Reason    ${token}    invalid_signature

Token For Another Audience Is Refused
    [Documentation]    Protects against tokens issued for a different service.
    [Tags]    signing-key
    Signing Key Should Be Known
    ${claims}    Access Token Claims
    ${token}    Create Token    ${claims}    audience=some-other-service
    Handshake Should Be Refused For Reason    ${token}    invalid_audience

Token From Another Issuer Is Refused
    [Documentation]    Protects against tokens from an untrusted issuer.
    [Tags]    signing-key
    Signing Key Should Be Known
    ${claims}    Access Token Claims
    ${token}    Create Token    ${claims}    issuer=https://evil.example
    Handshake Should Be Refused For Reason    ${token}    invalid_issuer

Unsigned Token Is Refused
    [Documentation]    Protects against the alg=none attack.
    ${claims}    Access Token Claims
    ${token}    Create Unsigned Token    ${claims}
    Handshake Should Be Refused For Reason    ${token}    algorithm_not_allowed

Refresh Token Cannot Open A Connection
    [Documentation]    Protects token separation: only access tokens open connections.
    ${tokens}    Log In
    Handshake Should Be Refused For Reason    ${tokens}[refresh_token]    wrong_token_type

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


*** Keywords ***
Valid Token Should Be Accepted
    [Documentation]    Connects with a fresh access token on ``${carrier}``, checks the welcome
    ...    and an echo; returns the connection details.
    [Arguments]    ${carrier}
    ${token}    Get Access Token
    Connect With Token    ${token}    ${carrier}
    Handshake Time Should Be Below    ${HANDSHAKE_BUDGET}
    Welcome Should Arrive
    Echo Should Round Trip    via ${carrier}
    ${details}    Get Connection Details
    RETURN    ${details}
