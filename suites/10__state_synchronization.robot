*** Settings ***
Documentation     State Synchronization: tabs of one user share a versioned document. A stale edit
...               is refused with the current state so the tab can recover, every change reaches the
...               other tabs, and a tab that was offline catches up (with the missed patches, or a
...               snapshot when it missed too many).

Resource          ../resources/service.resource
Resource          ../resources/protocol.resource
Resource          ../resources/state.resource

Suite Setup       Use Service Under Test    state_history=${STATE_HISTORY}
Suite Teardown    Release Service Under Test
Test Setup        Open Two Tabs
Test Teardown     Close All Connections

Test Tags         p2    state


*** Variables ***
# Patches the service keeps for catching up; a tab that missed more gets a snapshot.
${STATE_HISTORY}    ${5}


*** Test Cases ***
Stale Edit Gets A Conflict And Recovers
    [Documentation]    Protects concurrent edits: the tab editing an old version gets ``conflict`` with
    ...    the current version and document, retries on it, and both tabs' views (built from what
    ...    each was sent) end on the service's state.
    ${base}    Get State    connection=tab1
    ${version}    ${view1}    Patch The View    ${base}    ${{ {"title": "from tab 1"} }}    tab1
    ${conflict}    Patch Should Conflict    ${{ {"title": "from tab 2"} }}    ${base}[version]
    ...    connection=tab2
    Should Be Equal As Integers    ${conflict}[current_version]    ${version}
    Should Be Equal    ${conflict}[doc]    ${view1}
    ...    msg=The conflict carries ${conflict}[doc], not tab 1's document ${view1}.    values=False
    VAR    &{current}    version=${conflict}[current_version]    doc=${conflict}[doc]
    ${final}    ${view2}    Patch The View    ${current}    ${{ {"body": "tab 2 retried"} }}    tab2
    ${view1}    Apply The Update To    ${view1}    ${final}    connection=tab1
    View Should Match The Service    ${final}    ${view1}    connection=tab1
    View Should Match The Service    ${final}    ${view2}    connection=tab2

Changes Reach The Other Tab
    [Documentation]    Protects live sync: a patch in one tab arrives in the other as ``state.updated``
    ...    with the new version and the patch, and not in the tab that made it.
    ${base}    Get State    connection=tab1
    ${version}    Patch Should Be Applied    ${{ {"count": 1} }}    ${base}[version]    connection=tab1
    ${update}    Wait For Message    type=state.updated    version=${version}    connection=tab2
    Should Be Equal    ${update}[patch]    ${{ {"count": 1} }}
    Should Not Receive Message    within=300ms    type=state.updated    connection=tab1

Offline Tab Catches Up With The Missed Patches
    [Documentation]    Protects convergence after a short absence: the tab resumes from its version
    ...    and gets every missed patch, in version order, and its view built from them is the
    ...    service's state.
    ${base}    Get State    connection=tab2
    Close Connection    connection=tab2
    ${version}    Make Patches    3    ${base}[version]    connection=tab1
    Reconnect    tab2
    ${resumed}    Resume State    ${base}[version]    connection=tab2
    Should Be Equal    ${resumed}[mode]    patches
    Should Be Equal As Integers    ${resumed}[version]    ${version}
    @{updates}    Wait For Sequence    ${{ $base["version"] + 1 }}    ${version}    field=version
    ...    type=state.updated    ordered=${TRUE}    connection=tab2
    ${view}    Apply Updates    ${base}[doc]    ${updates}
    View Should Match The Service    ${version}    ${view}    connection=tab2

Long Offline Tab Gets A Snapshot
    [Documentation]    Protects convergence after a long absence: more missed patches than the service
    ...    keeps means a full snapshot instead, and that snapshot is the service's state.
    ${base}    Get State    connection=tab2
    Close Connection    connection=tab2
    ${version}    Make Patches    ${STATE_HISTORY + 3}    ${base}[version]    connection=tab1
    Reconnect    tab2
    ${resumed}    Resume State    ${base}[version]    connection=tab2
    Should Be Equal    ${resumed}[mode]    snapshot
    ${snapshot}    Wait For Message    type=state    version=${version}    connection=tab2
    View Should Match The Service    ${snapshot}[version]    ${snapshot}[doc]    connection=tab2


*** Keywords ***
Open Two Tabs
    [Documentation]    Two connections of the same user, like two browser tabs.
    Open Authenticated Connection    tab1
    Open Authenticated Connection    tab2

Patch The View
    [Documentation]    Patches the state the tab ``${connection}`` knows (``${known}``: ``version`` and
    ...    ``doc``) and returns the new version and the tab's view with the patch applied.
    [Arguments]    ${known}    ${patch}    ${connection}
    ${version}    Patch Should Be Applied    ${patch}    ${known}[version]    connection=${connection}
    ${view}    Apply Merge Patch    ${known}[doc]    ${patch}
    RETURN    ${version}    ${view}

Make Patches
    [Documentation]    Makes ``${count}`` patches in a row from ``${version}``, each adding its own field
    ...    (``step0``, ``step1``...), so a view that missed or garbled one differs. Returns the last version.
    [Arguments]    ${count}    ${version}    ${connection}
    FOR    ${n}    IN RANGE    ${count}
        VAR    &{patch}    step${n}=${n}
        ${version}    Patch Should Be Applied    ${patch}    ${version}    connection=${connection}
    END
    RETURN    ${version}
