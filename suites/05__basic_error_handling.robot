*** Settings ***
Documentation     Basic Error Handling: bad messages get an ``error`` reply with a stable code,
...               the connection keeps working, an oversized message closes with 1009, and
...               nobody else is disturbed.

Resource          ../resources/service.resource
Resource          ../resources/protocol.resource

Suite Setup       Use Service Under Test
Suite Teardown    Release Service Under Test
Test Setup        Open Authenticated Connection    alias=alice
Test Teardown     Close All Connections

Test Tags         p1    errors


*** Test Cases ***
Invalid JSON Gets An Error And The Connection Survives
    [Documentation]    Protects against a parse failure killing the session.
    [Template]    Bad Text Should Get Error Code
    {not json    invalid_json
    ${EMPTY}    invalid_json
    {"type": "echo", "payload": "unterminated    invalid_json

Non Object JSON Gets An Error
    [Documentation]    Protects the envelope rule: a message is a JSON object.
    [Template]    Bad Text Should Get Error Code
    \[1, 2, 3]    not_an_object
    "just text"    not_an_object
    42    not_an_object
    null    not_an_object

Missing Type Gets An Error With The Id
    [Documentation]    Protects correlation of errors: the error carries the request id.
    Send Json Message    {"id": "m-1", "payload": "no type"}
    Error Reply Should Have Code    missing_type    id=m-1
    Echo Should Round Trip    still working

Unknown Type Gets An Error Naming It
    [Documentation]    Protects clients against silent drops of unsupported requests.
    Send Json Message    {"type": "teleport", "id": 9}
    ${error}    Error Reply Should Have Code    unknown_type    id=9
    Should Contain    ${error}[message]    teleport
    Echo Should Round Trip    still working

Wrong Field Types Get An Error Naming The Field
    [Documentation]    Protects validation: a non-string type or an id that is neither string nor
    ...    number is reported with the field's name.
    Send Json Message    {"type": 5, "id": "t-1"}
    ${error}    Error Reply Should Have Code    invalid_field    id=t-1
    Should Be Equal    ${error}[field]    type
    Send Json Message    {"type": "echo", "id": {"nested": true}}
    ${error}    Error Reply Should Have Code    invalid_field
    Should Be Equal    ${error}[field]    id
    Echo Should Round Trip    still working

Many Bad Messages Do Not Close The Connection
    [Documentation]    Protects resilience: 20 bad messages in a row are each answered, then an echo works.
    FOR    ${i}    IN RANGE    20
        Send Text Message    garbage ${i}
    END
    Wait For Messages    20    type=error    code=invalid_json
    Connection Should Be Open
    Echo Should Round Trip    survived

Oversized Message Closes With 1009
    [Documentation]    Protects the size limit: a message over it closes the connection with 1009.
    ${size}    Evaluate    ${MAX_MESSAGE_SIZE} + 1
    ${payload}    Evaluate    "x" * ${size}
    Send Input The Server Will Close On    Send Text Message    ${payload}
    Wait For Close    1009

Oversized Message Does Not Affect Other Connections
    [Documentation]    Protects other users: one client's violation closes only that client.
    Open Authenticated Connection    alias=bystander    user=${OTHER_USER_NAME}    password=${OTHER_USER_PASSWORD}
    ${size}    Evaluate    ${MAX_MESSAGE_SIZE} + 1
    ${payload}    Evaluate    b"x" * ${size}
    Send Input The Server Will Close On    Send Binary Message    ${payload}    connection=alice
    Wait For Close    1009    connection=alice
    Echo Should Round Trip    unaffected    connection=bystander
    ${health}    GET On Session    service    /health    expected_status=200
    Should Be Equal    ${health.json()}[status]    ok

Errors Do Not Leak To Other Connections
    [Documentation]    Protects isolation: an error reply goes only to the connection that erred.
    Open Authenticated Connection    alias=other    user=${OTHER_USER_NAME}    password=${OTHER_USER_PASSWORD}
    Send Text Message    {broken    connection=alice
    Error Reply Should Have Code    invalid_json    connection=alice
    Should Not Receive Message    within=300ms    connection=other


*** Keywords ***
Bad Text Should Get Error Code
    [Documentation]    Sends ``${text}`` as is, expects an error with ``${code}``, then a working echo.
    [Arguments]    ${text}    ${code}
    Send Text Message    ${text}
    Error Reply Should Have Code    ${code}
    Echo Should Round Trip    after ${code}
