*** Settings ***
Documentation     Hostile Input: malformed messages and frames, each with the outcome it must get.
...               Application-level garbage gets an ``error`` reply and the connection keeps working;
...               protocol violations close the connection with the code RFC 6455 requires
...               (1002 protocol error, 1007 invalid data, 1009 too big). After every case a second,
...               well-behaved connection is still served and /health answers.

Resource          ../resources/service.resource
Resource          ../resources/protocol.resource

Suite Setup       Open Bystander
Suite Teardown    Release Service Under Test
Test Setup        Open Authenticated Connection    alias=hostile
Test Teardown     Close Connection    connection=hostile
Test Template     Hostile Input Should Get

Test Tags         p1    errors    hostile


*** Test Cases ***    OUTCOME    SENDER    INPUT
Invalid JSON    error invalid_json    Send Text Message    {oops
Empty Text Message    error invalid_json    Send Text Message    ${EMPTY}
Truncated JSON    error invalid_json    Send Text Message    {"type": "echo", "payload": "ab
NaN Is Not JSON    error invalid_json    Send Text Message    {"type": "echo", "payload": NaN}
Infinity Is Not JSON    error invalid_json    Send Text Message    {"type": "echo", "payload": Infinity}
Deeply Nested JSON    error invalid_json    Send Text Message    ${{ "[" * 5000 + "]" * 5000 }}
JSON Array    error not_an_object    Send Text Message    \[1, 2, 3]
JSON String    error not_an_object    Send Text Message    "just text"
JSON Number    error not_an_object    Send Text Message    42
JSON Null    error not_an_object    Send Text Message    null
Missing Type    error missing_type    Send Text Message    {"id": "x-1"}
Unknown Type    error unknown_type    Send Text Message    {"type": "teleport"}
Very Long Unknown Type    error unknown_type    Send Text Message    {"type": "${{ "x" * 10000 }}"}
Type Is A Number    error invalid_field    Send Text Message    {"type": 5}
Type Is Null    error invalid_field    Send Text Message    {"type": null}
Id Is An Object    error invalid_field    Send Text Message    {"type": "echo", "id": {"a": 1}}
Invalid UTF-8 In A Text Frame    close 1007    Send Text Frame With Invalid UTF-8
Invalid UTF-8 Split Across Fragments    close 1007    Send Fragments With Invalid UTF-8
Reserved Opcode    close 1002    Send Frame    3    reserved
Reserved Control Opcode    close 1002    Send Frame    11    reserved
Reserved Bit Without Extension    close 1002    Send Text Frame With RSV1 Set
Unmasked Frame    close 1002    Send Unmasked Text Frame
Ping Over 125 Bytes    close 1002    Send Frame    PING    ${{ b"p" * 126 }}
Fragmented Ping    close 1002    Send Fragmented Ping
Continuation Without A Start    close 1002    Send Frame    CONTINUATION    orphan
New Message Inside A Fragmented One    close 1002    Send Text Frame Inside A Fragmented Message
Close Frame With A One Byte Payload    close 1002    Send Frame    CLOSE    ${{ b"\x03" }}
Close Code Out Of Range    close 1002    Send Frame    CLOSE    ${{ (999).to_bytes(2, "big") }}
Close Code Reserved For Local Use    close 1002    Send Frame    CLOSE    ${{ (1005).to_bytes(2, "big") }}
Close Reason Not UTF-8    close 1007    Send Frame    CLOSE    ${{ (1000).to_bytes(2, "big") + b"\xff" }}
Message Over The Size Limit    close 1009    Send Text Message    ${{ "x" * (int($MAX_MESSAGE_SIZE) + 1) }}
Frame Declaring An Enormous Length    close 1009    Send Frame Declaring An Enormous Length
Fragments Over The Size Limit Together    close 1009    Send Fragments Over The Size Limit


*** Keywords ***
Open Bystander
    [Documentation]    Starts the service and opens the well-behaved connection every case checks.
    Use Service Under Test
    Open Authenticated Connection    bystander    ${OTHER_USER_NAME}    ${OTHER_USER_PASSWORD}

Hostile Input Should Get
    [Documentation]    Sends hostile input with ``${sender}`` and checks ``${outcome}``: ``error <code>``
    ...    (an error reply, and the connection still echoes) or ``close <code>``. Then the bystander
    ...    must still be served and /health must answer.
    [Arguments]    ${outcome}    ${sender}    @{input}
    ${kind}    ${code}    Evaluate    $outcome.split()
    IF    $kind == "error"
        Run Keyword    ${sender}    @{input}
        Error Reply Should Have Code    ${code}    connection=hostile
        Echo Should Round Trip    still served    connection=hostile
    ELSE
        Send Input The Server Will Close On    ${sender}    @{input}
        Wait For Close    ${code}    connection=hostile
    END
    Echo Should Round Trip    unaffected    connection=bystander
    GET On Session    service    /health    expected_status=200

Send Text Frame With Invalid UTF-8
    [Documentation]    One text frame whose bytes are not UTF-8.
    Send Frame    TEXT    ${{ b"\xff\xfe\xfd" }}    connection=hostile

Send Fragments With Invalid UTF-8
    [Documentation]    A text message whose two-byte character is split across fragments, then broken.
    Send Frame    TEXT    ${{ b"caf\xc3" }}    fin=False    connection=hostile
    Send Frame    CONTINUATION    ${{ b"\x28" }}    connection=hostile

Send Text Frame With RSV1 Set
    [Documentation]    RSV1 means a negotiated extension (compression); none was negotiated.
    Send Frame    TEXT    compressed?    rsv1=True    connection=hostile

Send Unmasked Text Frame
    [Documentation]    Clients must mask every frame (RFC 6455 section 5.1).
    Send Frame    TEXT    {"type": "echo"}    masked=False    connection=hostile

Send Fragmented Ping
    [Documentation]    Control frames must not be fragmented.
    Send Frame    PING    part one    fin=False    connection=hostile

Send Text Frame Inside A Fragmented Message
    [Documentation]    A new data frame before the fragmented message's last frame.
    Send Frame    TEXT    first half    fin=False    connection=hostile
    Send Frame    TEXT    intruder    connection=hostile

Send Frame Declaring An Enormous Length
    [Documentation]    A header that announces 2**63-1 bytes; the server must not wait for or buffer them.
    Send Frame    BINARY    abc    declared_length=${{ 2**63 - 1 }}    connection=hostile

Send Fragments Over The Size Limit
    [Documentation]    Fragments each under the limit that together exceed it.
    ${half}    Evaluate    b"x" * (int($MAX_MESSAGE_SIZE) // 2 + 1)
    Send Frame    BINARY    ${half}    fin=False    connection=hostile
    Send Frame    CONTINUATION    ${half}    connection=hostile
