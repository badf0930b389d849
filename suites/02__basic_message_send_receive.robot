*** Settings ***
Documentation     Basic Message Send/Receive: messages reach the service and its replies come
...               back intact, correlated by id, within the round-trip budget.

Resource          ../resources/service.resource
Resource          ../resources/protocol.resource

Suite Setup       Use Service Under Test
Suite Teardown    Release Service Under Test
Test Setup        Open Authenticated Connection    alias=alice
Test Teardown     Close All Connections

Test Tags         p0    messaging


*** Test Cases ***
Echo Returns The Payload Within The Round Trip Budget
    [Documentation]    Protects the basic request/reply path and its latency.
    Echo Should Round Trip    hello

Echo Preserves Structured Payloads
    [Documentation]    Protects JSON fidelity: nested objects, numbers, booleans and null survive.
    ${payload}    Evaluate    {"n": 42, "f": 1.5, "ok": True, "none": None, "list": [1, "two", {"three": 3}]}
    ${reply}    Echo Should Round Trip    ${payload}
    Should Be Equal    ${reply}[payload][list][2][three]    ${3}

Echo Preserves Unicode Text
    [Documentation]    Protects text encoding: multi-byte UTF-8 arrives unchanged.
    Echo Should Round Trip    héllo wörld ✓ 日本語 🚀

Replies Carry The Request Id
    [Documentation]    Protects correlation: each reply names the request it answers.
    Send Json Message    {"type": "echo", "id": "req-b", "payload": "b"}
    Send Json Message    {"type": "echo", "id": "req-a", "payload": "a"}
    ${reply_a}    Wait For Message    type=echo    id=req-a
    ${reply_b}    Wait For Message    type=echo    id=req-b
    Should Be Equal    ${reply_a}[payload]    a
    Should Be Equal    ${reply_b}[payload]    b

Numeric Ids Are Echoed As Numbers
    [Documentation]    Protects id typing: a number stays a number.
    Send Json Message    {"type": "echo", "id": 7, "payload": null}
    ${reply}    Wait For Message    type=echo    $.id=7
    Should Be Equal    ${reply}[id]    ${7}

Binary Frames Are Echoed As Binary
    [Documentation]    Protects binary data: every byte value survives and the frame stays binary.
    ${data}    Evaluate    bytes(range(256))
    Send Binary Message    ${data}
    ${reply}    Receive Binary Message
    Should Be Equal    ${reply}    ${data}

A Burst Of Messages Is Answered Completely
    [Documentation]    Protects against lost replies under a quick burst of 50 requests: every
    ...    request id is answered exactly once, with its payload.
    Send Messages    template={"type": "echo", "id": {i}, "payload": "burst {i}"}    count=50
    @{replies}    Wait For Sequence    1    50    field=id    type=echo    duplicates=fail
    FOR    ${i}    ${reply}    IN ENUMERATE    @{replies}    start=1
        Should Be Equal    ${reply}[payload]    burst ${i}    msg=Reply ${i} carries another payload.
    END

A Reply Is Matched To Its Request By Id
    [Documentation]    Protects correlation in one step: the reply to a request with a fresh id
    ...    carries that id and the payload back, and an older echo is not taken for it.
    Send Json Message    {"type": "echo", "id": 1, "payload": "older"}
    ${reply}    Send And Wait For Reply    {"type": "echo", "payload": "newer"}    correlate=id
    ...    type=echo
    Should Be Equal    ${reply}[payload]    newer
    ${older}    Wait For Message    type=echo    id=1
    Should Be Equal    ${older}[payload]    older

Reply Times Of Many Echoes Stay Within The Budget
    [Documentation]    Protects latency under load: 150 echoes one after another, then 150 sent
    ...    at once, answered within the round-trip budget at the 95th percentile and none lost.
    ...    (300 messages stay under the service's burst allowance of 400.)
    ${sequential}    Measure Reply Times    150    {"type": "echo", "id": {i}, "payload": "s{i}"}
    ...    budget=p95 < ${ROUND_TRIP_BUDGET}    type=echo    id={i}    payload=s{i}
    ${pipelined}    Measure Reply Times    150    {"type": "echo", "id": {i}, "payload": "p{i}"}
    ...    budget=p95 < ${ROUND_TRIP_BUDGET}    pacing=pipelined    type=echo    id={i}
    Should Be Equal As Integers    ${sequential.count}    150
    Should Be Equal As Integers    ${pipelined.count}    150

Message Near The Size Limit Is Accepted
    [Documentation]    Protects the configured maximum: a message just under it round-trips.
    ${size}    Evaluate    ${MAX_MESSAGE_SIZE} - 100
    ${payload}    Evaluate    "x" * ${size}
    Echo Should Round Trip    ${payload}

Nothing Arrives Unasked
    [Documentation]    Protects quiet connections: after the welcome the service sends nothing by itself.
    Should Not Receive Message    within=300ms
