// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Test} from "forge-std/Test.sol";
import {IFilFil} from "../src/interfaces/IFilFil.sol";
import {DeployFilFil} from "filfil-deploy/DeployFilFil.s.sol";

contract DeployTest is Test {
    function test_DeployScriptReadsEnvironment() public {
        vm.setEnv("OPERATORS", "0x0000000000000000000000000000000000000A11,0x0000000000000000000000000000000000000B22");
        vm.setEnv("THRESHOLD", "2");
        vm.setEnv("START_EPOCH", "5000");
        vm.setEnv("REPLICATION", "3");
        vm.setEnv("COLLATERAL", "7");
        DeployFilFil script = new DeployFilFil();
        // the script compiles FilFil from its own path: talk to the deployment through IFilFil
        IFilFil ff = IFilFil(address(script.run()));
        (address[] memory ops, uint256 threshold) = ff.operators();
        assertEq(ops.length, 2);
        assertEq(ops[1], address(0xB22));
        assertEq(threshold, 2);
        IFilFil.Schedule memory s = ff.schedule();
        assertEq(s.startEpoch, 5000);
        assertEq(s.snapshotInterval, 2880);
        assertEq(s.readyDelay, 240);
        assertEq(s.claimWindow, 2880);
        IFilFil.Params memory p = ff.params();
        assertEq(p.replication, 3);
        assertEq(p.collateral, 7);
        assertEq(p.maxMisses, 3);
        assertEq(p.policy.minDuration, 518_400);
        assertEq(p.policy.maxDuration, 3_680_640);
    }
}
