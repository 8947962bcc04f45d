// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Vm} from "forge-std/Vm.sol";
import {FilFil} from "../src/FilFil.sol";
import {IFilFil} from "../src/interfaces/IFilFil.sol";
import {FVMActor} from "../src/lib/FVMActor.sol";
import {FilFilTestBase} from "./utils/FilFilTestBase.sol";
import {TestCbor} from "./utils/TestCbor.sol";
import {
    CALL_ACTOR_ID_PRECOMPILE,
    LOOKUP_DELEGATED_ADDRESS_PRECOMPILE,
    LookupDelegatedAddressMock
} from "./mocks/FvmMocks.sol";

contract RejectingReceiver {
    function callWithdraw(FilFil ff) external {
        ff.withdraw();
    }
}

contract FilFilTest is FilFilTestBase {
    // builtin-actors AuthenticateMessage vector (actors/market tests): piece size 2048, client f0104,
    // provider f0102, label "label", start 10, end 576010, price and collaterals 10 attoFIL
    bytes internal constant VECTOR_AUTH =
        hex"8240584c8bd82a5828000181e2039220206b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b190800f4420068420066656c6162656c0a1a0008ca0a42000a42000a42000a";
    bytes internal constant VECTOR_PROPOSAL =
        hex"8bd82a5828000181e2039220206b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b190800f4420068420066656c6162656c0a1a0008ca0a42000a42000a42000a";
    /// @dev The same proposal with client collateral 0 (BigInt zero is the empty byte string 0x40).
    bytes internal constant VECTOR_PROPOSAL_NO_CLIENT_COLLATERAL =
        hex"8bd82a5828000181e2039220206b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b190800f4420068420066656c6162656c0a1a0008ca0a42000a42000a40";
    bytes32 internal constant VECTOR_PIECE = 0x6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b;
    uint64 internal constant VECTOR_PROVIDER = 102;

    // ------------------------------------------------------------------ helpers

    /// @dev Register 3 SPs before start, stage 1 piece for slot 0, roll into its window.
    function _openSlot0() internal {
        _register(101);
        _register(102);
        _register(103);
        _stage(0, 1);
        vm.roll(_windowStart(0));
    }

    /// @dev Stage the vector's piece for slot 0 where f0102 holds a seat (with 3 SPs, r = 2).
    function _openVectorSlot() internal {
        _register(101);
        _register(102);
        _register(103);
        bytes32[] memory pieces = new bytes32[](1);
        uint64[] memory sizes = new uint64[](1);
        pieces[0] = VECTOR_PIECE;
        sizes[0] = 2048;
        vm.roll(_epoch(0));
        vm.prank(op1);
        ff.approveStage(0, pieces, sizes);
        vm.prank(op2);
        ff.approveStage(0, pieces, sizes);
        vm.roll(_windowStart(0));
        assertLt(_seatIndex(0, VECTOR_PROVIDER), 2, "f0102 holds a seat of slot 0");
    }

    function _expectAuthRevert(bytes memory proposalBytes, bytes memory err) internal {
        (bool ok, bytes memory ret) = _authenticate(proposalBytes);
        assertFalse(ok, "AuthenticateMessage must reject");
        assertEq(ret, err);
    }

    function _holder0() internal view returns (uint64) {
        return ff.seatsOf(0)[0];
    }

    // ------------------------------------------------------------------ construction

    function test_Constructor_SetsState() public view {
        (address[] memory ops, uint256 threshold) = ff.operators();
        assertEq(ops.length, 3);
        assertEq(threshold, 2);
        assertEq(ff.schedule().snapshotInterval, INTERVAL);
        assertEq(ff.params().replication, 2);
        assertEq(ff.seatsOf(0).length, 2);
        assertEq(ff.seatsOf(0)[0], 0, "vacant");
    }

    function test_RevertIf_ConstructorInvalidSchedule() public {
        address[] memory ops = _ops();
        IFilFil.Schedule memory s = _schedule();
        s.snapshotInterval = 0;
        vm.expectRevert(IFilFil.InvalidSchedule.selector);
        new FilFil(s, _defaultParams(), ops, 2);
        s = _schedule();
        s.claimWindow = 0;
        vm.expectRevert(IFilFil.InvalidSchedule.selector);
        new FilFil(s, _defaultParams(), ops, 2);
    }

    function test_RevertIf_ConstructorInvalidParams() public {
        address[] memory ops = _ops();
        IFilFil.Params memory p = _defaultParams();
        p.replication = 0;
        vm.expectRevert(IFilFil.InvalidReplication.selector);
        new FilFil(_schedule(), p, ops, 2);
        p = _defaultParams();
        p.maxMisses = 0;
        vm.expectRevert(IFilFil.InvalidMaxMisses.selector);
        new FilFil(_schedule(), p, ops, 2);
        p = _defaultParams();
        p.maxProviders = 0;
        vm.expectRevert(IFilFil.InvalidMaxProviders.selector);
        new FilFil(_schedule(), p, ops, 2);
        p = _defaultParams();
        p.policy.minDuration = 518_399;
        vm.expectRevert(IFilFil.InvalidDealPolicy.selector);
        new FilFil(_schedule(), p, ops, 2);
        p = _defaultParams();
        p.policy.maxDuration = 3_680_641;
        vm.expectRevert(IFilFil.InvalidDealPolicy.selector);
        new FilFil(_schedule(), p, ops, 2);
        p = _defaultParams();
        p.policy.minDuration = 600_000;
        p.policy.maxDuration = 599_999;
        vm.expectRevert(IFilFil.InvalidDealPolicy.selector);
        new FilFil(_schedule(), p, ops, 2);
        p = _defaultParams();
        p.policy.maxPricePerEpochPerGiB = uint256(type(uint128).max) + 1;
        vm.expectRevert(IFilFil.InvalidDealPolicy.selector);
        new FilFil(_schedule(), p, ops, 2);
    }

    function test_RevertIf_ConstructorInvalidOperators() public {
        address[] memory one = new address[](1);
        one[0] = op1;
        vm.expectRevert(IFilFil.InvalidOperators.selector);
        new FilFil(_schedule(), _defaultParams(), one, 1);
        address[] memory dup = _ops();
        dup[2] = op1;
        vm.expectRevert(IFilFil.InvalidOperators.selector);
        new FilFil(_schedule(), _defaultParams(), dup, 2);
        address[] memory zero = _ops();
        zero[1] = address(0);
        vm.expectRevert(IFilFil.InvalidOperators.selector);
        new FilFil(_schedule(), _defaultParams(), zero, 2);
        address[] memory many = new address[](33);
        for (uint256 i; i < 33; ++i) {
            many[i] = address(uint160(i + 1));
        }
        vm.expectRevert(IFilFil.InvalidOperators.selector);
        new FilFil(_schedule(), _defaultParams(), many, 2);
        vm.expectRevert(abi.encodeWithSelector(IFilFil.InvalidThreshold.selector, 1, 3));
        new FilFil(_schedule(), _defaultParams(), _ops(), 1);
        vm.expectRevert(abi.encodeWithSelector(IFilFil.InvalidThreshold.selector, 4, 3));
        new FilFil(_schedule(), _defaultParams(), _ops(), 4);
    }

    function _ops() internal view returns (address[] memory ops) {
        ops = new address[](3);
        (ops[0], ops[1], ops[2]) = (op1, op2, op3);
    }

    // ------------------------------------------------------------------ registration

    function test_Register_BeforeStartJoinsSlot0() public {
        actors.setMiner(101, _owner(101));
        vm.deal(_owner(101), COLLATERAL);
        vm.expectEmit(address(ff));
        emit IFilFil.ProviderRegistered(101, _owner(101), _payout(101), COLLATERAL, 0);
        vm.prank(_owner(101));
        ff.register{value: COLLATERAL}(101, _payout(101));
        IFilFil.ProviderInfo memory p = ff.provider(101);
        assertEq(uint8(p.status), uint8(IFilFil.ProviderStatus.Registered));
        assertEq(p.joinSlot, 0);
        assertEq(p.stake, COLLATERAL);
        assertEq(ff.seatsOf(0)[0], 101);
        assertEq(ff.seatsOf(0)[1], 0, "replication capped at n = 1: second seat vacant");
        (, uint256 totalStake,) = ff.totals();
        assertEq(totalStake, COLLATERAL);
        assertEq(address(ff).balance, COLLATERAL);
    }

    function test_Register_DuringRoundJoinsNextRound() public {
        _register(101);
        _register(102);
        vm.roll(_epoch(0)); // slot 0 running; round 0 = slots 0..1
        _register(103);
        assertEq(ff.provider(103).joinSlot, 2);
        assertEq(ff.activeProviders(0).length, 2);
        assertEq(ff.activeProviders(1).length, 2);
        assertEq(ff.activeProviders(2).length, 3);
        assertEq(_seatIndex(0, 103), type(uint256).max);
        assertEq(_seatIndex(1, 103), type(uint256).max);
    }

    function test_Register_MaskedIdCallerUsesIdAddress() public {
        address native = _masked(1234);
        actors.setMiner(101, native); // controller registered as f01234
        vm.deal(native, COLLATERAL);
        vm.prank(native);
        ff.register{value: COLLATERAL}(101, _payout(101));
        assertEq(ff.provider(101).owner, native);
    }

    function test_RevertIf_RegisterInsufficientCollateral() public {
        actors.setMiner(101, _owner(101));
        vm.deal(_owner(101), COLLATERAL);
        vm.prank(_owner(101));
        vm.expectRevert(abi.encodeWithSelector(IFilFil.InsufficientCollateral.selector, COLLATERAL - 1, COLLATERAL));
        ff.register{value: COLLATERAL - 1}(101, _payout(101));
    }

    function test_RevertIf_RegisterNotControllingAddress() public {
        actors.setMiner(101, _owner(101));
        address intruder = makeAddr("intruder");
        vm.deal(intruder, COLLATERAL);
        vm.prank(intruder);
        vm.expectRevert(abi.encodeWithSelector(IFilFil.NotControllingAddress.selector, 101, intruder));
        ff.register{value: COLLATERAL}(101, intruder);
    }

    function test_RevertIf_RegisterMinerCallFailed() public {
        vm.deal(_owner(7777), COLLATERAL);
        vm.prank(_owner(7777));
        vm.expectRevert(abi.encodeWithSelector(IFilFil.MinerCallFailed.selector, 7777, int256(6)));
        ff.register{value: COLLATERAL}(7777, _payout(7777));
    }

    function test_RevertIf_RegisterEvmActorPosingAsMiner() public {
        // an EVM contract (it has an f410 address) answering IsControllingAddress with true
        actors.setMiner(666, _owner(666));
        LookupDelegatedAddressMock(LOOKUP_DELEGATED_ADDRESS_PRECOMPILE)
            .setDelegated(666, abi.encodePacked(hex"040a", makeAddr("fake miner")));
        vm.deal(_owner(666), COLLATERAL);
        vm.prank(_owner(666));
        vm.expectRevert(abi.encodeWithSelector(IFilFil.NotAStorageMiner.selector, 666));
        ff.register{value: COLLATERAL}(666, _payout(666));
    }

    function test_RevertIf_RegisterAlreadyRegistered() public {
        _register(101);
        vm.deal(_owner(101), COLLATERAL);
        vm.prank(_owner(101));
        vm.expectRevert(abi.encodeWithSelector(IFilFil.ProviderAlreadyRegistered.selector, 101));
        ff.register{value: COLLATERAL}(101, _payout(101));
    }

    function test_RevertIf_RegisterTooManyProviders() public {
        IFilFil.Params memory p = _defaultParams();
        p.maxProviders = 1;
        ff = new FilFil(_schedule(), p, _ops(), 2);
        _register(101);
        actors.setMiner(102, _owner(102));
        vm.deal(_owner(102), COLLATERAL);
        vm.prank(_owner(102));
        vm.expectRevert(abi.encodeWithSelector(IFilFil.TooManyProviders.selector, 1));
        ff.register{value: COLLATERAL}(102, _payout(102));
    }

    function test_RevertIf_RegisterInvalidArguments() public {
        vm.expectRevert(IFilFil.InvalidMinerId.selector);
        ff.register(0, _payout(1));
        vm.expectRevert(IFilFil.InvalidPayout.selector);
        ff.register(101, address(0));
    }

    function test_Register_AgainAfterLeaveAndRelease() public {
        _register(101);
        vm.prank(_owner(101));
        ff.leave(101); // before start: never held a seat
        vm.prank(_owner(101));
        ff.releaseCollateral(101);
        vm.roll(_epoch(0) + 1);
        _register(101);
        assertEq(uint8(ff.provider(101).status), uint8(IFilFil.ProviderStatus.Registered));
        assertEq(ff.provider(101).joinSlot, 1);
        assertEq(ff.providers().length, 1);
    }

    // ------------------------------------------------------------------ leave, release, withdraw

    function test_Leave_EffectiveNextRound() public {
        _register(101);
        _register(102);
        vm.roll(_epoch(0));
        vm.expectEmit(address(ff));
        emit IFilFil.ProviderLeft(101, 2);
        vm.prank(_owner(101));
        ff.leave(101);
        assertLt(_seatIndex(1, 101), 2, "still seated for the rest of the round");
        assertEq(_seatIndex(2, 101), type(uint256).max, "gone from the next round");
        assertEq(ff.activeProviders(2).length, 1);
        assertEq(ff.activeProviders(2)[0], 102);
    }

    function test_RevertIf_LeaveNotOwner() public {
        _register(101);
        vm.expectRevert(abi.encodeWithSelector(IFilFil.NotProviderOwner.selector, 101, address(this)));
        ff.leave(101);
    }

    function test_RevertIf_LeaveNotRegistered() public {
        _register(101);
        vm.startPrank(_owner(101));
        ff.leave(101);
        vm.expectRevert(abi.encodeWithSelector(IFilFil.ProviderNotRegistered.selector, 101));
        ff.leave(101);
        vm.stopPrank();
    }

    function test_ReleaseCollateral_AfterLastWindowCloses() public {
        _register(101);
        _register(102);
        vm.roll(_epoch(0));
        vm.startPrank(_owner(101));
        ff.leave(101); // leaves at slot 2: last seats in slot 1
        vm.expectRevert(abi.encodeWithSelector(IFilFil.WindowsStillOpen.selector, 101, uint64(_windowEnd(1))));
        ff.releaseCollateral(101);
        vm.roll(_windowEnd(1));
        vm.expectEmit(address(ff));
        emit IFilFil.CollateralReleased(101, _owner(101), COLLATERAL);
        ff.releaseCollateral(101);
        assertEq(ff.balanceOf(_owner(101)), COLLATERAL);
        vm.expectRevert(IFilFil.NothingToWithdraw.selector);
        ff.releaseCollateral(101);
        ff.withdraw();
        vm.stopPrank();
        assertEq(_owner(101).balance, COLLATERAL);
        (, uint256 stake, uint256 balances) = ff.totals();
        assertEq(stake, COLLATERAL);
        assertEq(balances, 0);
    }

    function test_RevertIf_ReleaseCollateralNotLeaving() public {
        _register(101);
        vm.prank(_owner(101));
        vm.expectRevert(abi.encodeWithSelector(IFilFil.ProviderNotLeaving.selector, 101));
        ff.releaseCollateral(101);
        vm.expectRevert(abi.encodeWithSelector(IFilFil.NotProviderOwner.selector, 101, address(this)));
        ff.releaseCollateral(101);
    }

    function test_Withdraw_PaysBalance() public {
        _openSlot0();
        ff.fundRewards{value: 5 ether}();
        uint64 holder = _holder0();
        _notify(TestCbor.proposal(_deal(_digest(0, 0), holder)), 7);
        assertEq(ff.balanceOf(_payout(holder)), REWARD);
        vm.expectEmit(address(ff));
        emit IFilFil.Withdrawn(_payout(holder), REWARD);
        vm.prank(_payout(holder));
        ff.withdraw();
        assertEq(_payout(holder).balance, REWARD);
    }

    function test_RevertIf_WithdrawNothing() public {
        vm.expectRevert(IFilFil.NothingToWithdraw.selector);
        ff.withdraw();
    }

    function test_RevertIf_WithdrawTransferFails() public {
        RejectingReceiver rr = new RejectingReceiver();
        actors.setMiner(101, address(rr));
        vm.deal(address(rr), COLLATERAL);
        vm.prank(address(rr));
        ff.register{value: COLLATERAL}(101, address(rr));
        vm.startPrank(address(rr));
        ff.leave(101);
        ff.releaseCollateral(101);
        vm.stopPrank();
        vm.expectRevert(IFilFil.TransferFailed.selector);
        rr.callWithdraw(ff);
    }

    // ------------------------------------------------------------------ staging

    function test_ApproveStage_StagesAtThreshold() public {
        bytes32[] memory pieces = new bytes32[](2);
        uint64[] memory sizes = new uint64[](2);
        (pieces[0], pieces[1]) = (_digest(0, 0), _digest(0, 1));
        (sizes[0], sizes[1]) = (2048, 1 << 30);
        vm.roll(_epoch(0));
        vm.prank(op1);
        ff.approveStage(0, pieces, sizes);
        assertEq(ff.snapshot(0).pieces.length, 0, "one approval does not stage");
        assertEq(ff.snapshot(0).approvals, 1);
        vm.expectEmit(address(ff));
        emit IFilFil.SnapshotStaged(
            0, keccak256(abi.encode(uint256(1), keccak256("filfil.stage"), uint64(0), pieces, sizes)), pieces, sizes
        );
        vm.prank(op3);
        ff.approveStage(0, pieces, sizes);
        IFilFil.SnapshotInfo memory s = ff.snapshot(0);
        assertEq(s.pieces.length, 2);
        assertEq(s.sizes[1], 1 << 30);
        assertEq(s.approvals, 2);
        assertEq(uint8(s.status), uint8(IFilFil.SlotStatus.Staged));
    }

    function test_ApproveStage_DifferentListsDoNotCombine() public {
        bytes32[] memory a = new bytes32[](1);
        bytes32[] memory b = new bytes32[](1);
        uint64[] memory sizes = new uint64[](1);
        (a[0], b[0], sizes[0]) = (_digest(0, 0), _digest(0, 1), 2048);
        vm.roll(_epoch(0));
        vm.prank(op1);
        ff.approveStage(0, a, sizes);
        vm.prank(op2);
        ff.approveStage(0, b, sizes);
        assertEq(ff.snapshot(0).pieces.length, 0);
    }

    function test_RevertIf_ApproveStageNotOperator() public {
        vm.roll(_epoch(0));
        vm.expectRevert(abi.encodeWithSelector(IFilFil.NotOperator.selector, address(this)));
        ff.approveStage(0, new bytes32[](1), new uint64[](1));
    }

    function test_RevertIf_ApproveStageTwice() public {
        bytes32[] memory a = new bytes32[](1);
        uint64[] memory sizes = new uint64[](1);
        (a[0], sizes[0]) = (_digest(0, 0), 2048);
        vm.roll(_epoch(0));
        vm.startPrank(op1);
        ff.approveStage(0, a, sizes);
        bytes32 key = keccak256(abi.encode(uint256(1), keccak256("filfil.stage"), uint64(0), a, sizes));
        vm.expectRevert(abi.encodeWithSelector(IFilFil.AlreadyApproved.selector, key, op1));
        ff.approveStage(0, a, sizes);
        vm.stopPrank();
    }

    function test_RevertIf_ApproveStageAlreadyStaged() public {
        (bytes32[] memory pieces, uint64[] memory sizes) = _stage(0, 1);
        vm.prank(op3);
        vm.expectRevert(abi.encodeWithSelector(IFilFil.SlotAlreadyStaged.selector, 0));
        ff.approveStage(0, pieces, sizes);
    }

    function test_RevertIf_ApproveStageTiming() public {
        bytes32[] memory a = new bytes32[](1);
        uint64[] memory sizes = new uint64[](1);
        (a[0], sizes[0]) = (_digest(3, 0), 2048);
        vm.roll(_epoch(3) - 1);
        vm.prank(op1);
        vm.expectRevert(abi.encodeWithSelector(IFilFil.SnapshotEpochNotReached.selector, 3, uint64(_epoch(3))));
        ff.approveStage(3, a, sizes);
        vm.roll(_windowEnd(3));
        vm.prank(op1);
        vm.expectRevert(abi.encodeWithSelector(IFilFil.StagingClosed.selector, 3, uint64(_windowEnd(3))));
        ff.approveStage(3, a, sizes);
    }

    function test_RevertIf_ApproveStageInvalidPieces() public {
        vm.roll(_epoch(0));
        vm.startPrank(op1);
        vm.expectRevert(IFilFil.InvalidPieces.selector);
        ff.approveStage(0, new bytes32[](0), new uint64[](0));
        vm.expectRevert(IFilFil.InvalidPieces.selector);
        ff.approveStage(0, new bytes32[](1), new uint64[](2));
        vm.expectRevert(IFilFil.InvalidPieces.selector);
        ff.approveStage(0, new bytes32[](65), new uint64[](65));
        uint64[] memory sizes = new uint64[](1);
        sizes[0] = 2048;
        vm.expectRevert(IFilFil.InvalidPieces.selector);
        ff.approveStage(0, new bytes32[](1), sizes);
        bytes32[] memory one = new bytes32[](1);
        one[0] = _digest(0, 0);
        sizes[0] = 3000;
        vm.expectRevert(abi.encodeWithSelector(IFilFil.InvalidPieceSize.selector, 3000));
        ff.approveStage(0, one, sizes);
        sizes[0] = 64;
        vm.expectRevert(abi.encodeWithSelector(IFilFil.InvalidPieceSize.selector, 64));
        ff.approveStage(0, one, sizes);
        vm.stopPrank();
    }

    function test_RevertIf_ApproveStagePieceAlreadyStaged() public {
        (bytes32[] memory pieces, uint64[] memory sizes) = _stage(0, 1);
        vm.roll(_epoch(1));
        vm.prank(op1);
        ff.approveStage(1, pieces, sizes);
        vm.prank(op2);
        vm.expectRevert(abi.encodeWithSelector(IFilFil.PieceAlreadyStaged.selector, pieces[0]));
        ff.approveStage(1, pieces, sizes);
    }

    // ------------------------------------------------------------------ operators and params

    function test_ApproveOperators_ReplacesSetAndInvalidatesPending() public {
        address op4 = makeAddr("op4");
        address[] memory next = new address[](2);
        (next[0], next[1]) = (op3, op4);
        bytes32[] memory a = new bytes32[](1);
        uint64[] memory sizes = new uint64[](1);
        (a[0], sizes[0]) = (_digest(0, 0), 2048);
        vm.roll(_epoch(0));
        vm.prank(op3);
        ff.approveStage(0, a, sizes); // pending under the old generation
        vm.prank(op1);
        ff.approveOperators(next, 2);
        vm.expectEmit(address(ff));
        emit IFilFil.OperatorsChanged(next, 2, 2);
        vm.prank(op2);
        ff.approveOperators(next, 2);
        (address[] memory ops, uint256 threshold) = ff.operators();
        assertEq(ops.length, 2);
        assertEq(ops[1], op4);
        assertEq(threshold, 2);
        vm.prank(op1);
        vm.expectRevert(abi.encodeWithSelector(IFilFil.NotOperator.selector, op1));
        ff.approveStage(0, a, sizes);
        vm.prank(op4);
        ff.approveStage(0, a, sizes);
        assertEq(ff.snapshot(0).pieces.length, 0, "old-generation approval does not count");
        vm.prank(op3);
        ff.approveStage(0, a, sizes);
        assertEq(ff.snapshot(0).pieces.length, 1);
    }

    function test_RevertIf_ApproveOperatorsInvalid() public {
        vm.prank(op1);
        vm.expectRevert(abi.encodeWithSelector(IFilFil.InvalidThreshold.selector, 3, 2));
        address[] memory next = new address[](2);
        (next[0], next[1]) = (op1, op2);
        ff.approveOperators(next, 3);
        vm.expectRevert(abi.encodeWithSelector(IFilFil.NotOperator.selector, address(this)));
        ff.approveOperators(next, 2);
    }

    function test_ApproveParams_ReplicationFromNextRound() public {
        _register(101);
        _register(102);
        _register(103);
        vm.roll(_epoch(1)); // round 0 = slots 0..2
        IFilFil.Params memory p = _defaultParams();
        p.replication = 3;
        p.collateral = 20 ether;
        vm.prank(op1);
        ff.approveParams(p);
        assertEq(ff.params().replication, 2, "one approval changes nothing");
        vm.prank(op2);
        ff.approveParams(p);
        assertEq(ff.params().replication, 3);
        assertEq(ff.params().collateral, 20 ether);
        assertEq(ff.seatsOf(2).length, 2, "running round keeps r = 2");
        assertEq(ff.seatsOf(3).length, 3, "next round has r = 3");
        // the same values can be proposed again later (fresh key)
        vm.prank(op1);
        ff.approveParams(p);
    }

    function test_RevertIf_ApproveParamsInvalid() public {
        IFilFil.Params memory p = _defaultParams();
        p.replication = 65;
        vm.prank(op1);
        vm.expectRevert(IFilFil.InvalidReplication.selector);
        ff.approveParams(p);
        vm.expectRevert(abi.encodeWithSelector(IFilFil.NotOperator.selector, address(this)));
        ff.approveParams(_defaultParams());
    }

    // ------------------------------------------------------------------ round robin

    function test_Seats_RoundRobinOverFrozenList() public {
        _register(101);
        _register(102);
        _register(103);
        uint64[] memory l = ff.activeProviders(0);
        for (uint64 k; k < 6; ++k) {
            uint64[] memory seats = ff.seatsOf(k);
            assertEq(seats[0], l[k % 3]);
            assertEq(seats[1], l[(k + 1) % 3]);
        }
    }

    function test_Seats_VacantWithoutProviders() public view {
        uint64[] memory seats = ff.seatsOf(5);
        assertEq(seats.length, 2);
        assertEq(seats[0], 0);
        assertEq(seats[1], 0);
    }

    // ------------------------------------------------------------------ AuthenticateMessage

    function test_AuthenticateMessage_BuiltinVectorDecodesAndFailsOnClientCollateral() public {
        _openVectorSlot();
        bytes memory call = abi.encodeCall(ff.handle_filecoin_method, (AUTHENTICATE_MESSAGE, 0x51, VECTOR_AUTH));
        vm.prank(MARKET);
        (bool ok, bytes memory ret) = address(ff).staticcall(call);
        assertFalse(ok);
        // every other check passed: piece, seat, window, size, verified, duration, price, provider collateral
        assertEq(ret, abi.encodeWithSelector(IFilFil.ClientCollateralNotZero.selector, 10));
    }

    function test_AuthenticateMessage_AcceptsVectorWithoutClientCollateral() public {
        _openVectorSlot();
        (bool ok, bytes memory ret) = _authenticate(VECTOR_PROPOSAL_NO_CLIENT_COLLATERAL);
        assertTrue(ok, "staticcall succeeded: no state written");
        (uint32 exitCode, uint64 codec, bytes memory data) = abi.decode(ret, (uint32, uint64, bytes));
        assertEq(exitCode, 0);
        assertEq(codec, 0x51);
        assertEq(data, hex"f5");
    }

    function test_AuthenticateMessage_LongAfterLastTransaction() public {
        // rounds are never "materialised": 40 slots later, with no transaction in between, the
        // read-only check still finds the right seat holder from the frozen list
        _register(101);
        _register(102);
        _register(103);
        uint64[] memory l = ff.activeProviders(0);
        uint64 slot = 40;
        _stage(slot, 1);
        vm.roll(_windowStart(slot));
        uint64 holder = l[(slot + 1) % 3]; // seat 1 of relative slot 40 mod 3
        assertEq(ff.seatsOf(slot)[1], holder);
        (bool ok,) = _authenticate(TestCbor.proposal(_deal(_digest(slot, 0), holder)));
        assertTrue(ok);
        _expectAuthRevert(
            TestCbor.proposal(_deal(_digest(slot, 0), l[(slot + 2) % 3])),
            abi.encodeWithSelector(IFilFil.NotSeatHolder.selector, slot, l[(slot + 2) % 3])
        );
    }

    function test_AuthenticateMessage_AcceptsDagCborCodec() public {
        _openSlot0();
        bytes memory cbor = TestCbor.authParams("", TestCbor.proposal(_deal(_digest(0, 0), _holder0())));
        vm.prank(MARKET);
        (bool ok,) =
            address(ff).staticcall(abi.encodeCall(ff.handle_filecoin_method, (AUTHENTICATE_MESSAGE, 0x71, cbor)));
        assertTrue(ok);
    }

    function test_RevertIf_AuthenticateMessageNotMarket() public {
        _openSlot0();
        vm.expectRevert(abi.encodeWithSelector(IFilFil.NotMarketActor.selector, address(this)));
        ff.handle_filecoin_method(AUTHENTICATE_MESSAGE, 0x51, VECTOR_AUTH);
    }

    function test_RevertIf_AuthenticateMessageMalformed() public {
        vm.prank(MARKET);
        vm.expectRevert(IFilFil.MalformedProposal.selector);
        ff.handle_filecoin_method(AUTHENTICATE_MESSAGE, 0x51, hex"8240");
        bytes memory truncated = TestCbor.authParams("", hex"8bd82a");
        vm.prank(MARKET);
        vm.expectRevert(IFilFil.MalformedProposal.selector);
        ff.handle_filecoin_method(AUTHENTICATE_MESSAGE, 0x51, truncated);
    }

    function test_RevertIf_AuthenticateMessageUnsupportedCodec() public {
        vm.prank(MARKET);
        vm.expectRevert(abi.encodeWithSelector(IFilFil.UnsupportedCodec.selector, 0x55));
        ff.handle_filecoin_method(AUTHENTICATE_MESSAGE, 0x55, VECTOR_AUTH);
    }

    function test_RevertIf_UnsupportedMethod() public {
        vm.prank(MARKET);
        vm.expectRevert(abi.encodeWithSelector(IFilFil.UnsupportedMethod.selector, 2));
        ff.handle_filecoin_method(2, 0x51, "");
        vm.expectRevert(abi.encodeWithSelector(IFilFil.UnsupportedMethod.selector, 1023));
        ff.handle_filecoin_method(1023, 0x51, "");
        vm.expectRevert(abi.encodeWithSelector(IFilFil.UnsupportedMethod.selector, 3855801850));
        ff.handle_filecoin_method(3855801850, 0x51, "");
    }

    function test_RevertIf_AuthenticatePieceNotStaged() public {
        _openSlot0();
        _expectAuthRevert(
            TestCbor.proposal(_deal(_digest(9, 9), _holder0())),
            abi.encodeWithSelector(IFilFil.PieceNotStaged.selector, _digest(9, 9))
        );
    }

    function test_RevertIf_AuthenticateProviderNotIdAddress() public {
        _openSlot0();
        _expectAuthRevert(
            TestCbor.proposal(_deal(_digest(0, 0), type(uint64).max)),
            abi.encodeWithSelector(IFilFil.ProviderNotIdAddress.selector)
        );
    }

    function test_RevertIf_AuthenticateNotSeatHolder() public {
        _openSlot0();
        uint64 outsider;
        for (uint64 m = 101; m <= 103; ++m) {
            if (_seatIndex(0, m) == type(uint256).max) outsider = m;
        }
        _expectAuthRevert(
            TestCbor.proposal(_deal(_digest(0, 0), outsider)),
            abi.encodeWithSelector(IFilFil.NotSeatHolder.selector, 0, outsider)
        );
        _expectAuthRevert(
            TestCbor.proposal(_deal(_digest(0, 0), 555)), abi.encodeWithSelector(IFilFil.NotSeatHolder.selector, 0, 555)
        );
    }

    function test_RevertIf_AuthenticatePieceAlreadyDealt() public {
        _openSlot0();
        bytes memory prop = TestCbor.proposal(_deal(_digest(0, 0), _holder0()));
        _notify(prop, 1);
        _expectAuthRevert(prop, abi.encodeWithSelector(IFilFil.PieceAlreadyDealt.selector, 0, 0, 0));
    }

    function test_RevertIf_AuthenticateOutsideWindow() public {
        _register(101);
        _register(102);
        _stage(0, 1);
        bytes memory prop = TestCbor.proposal(_deal(_digest(0, 0), _holder0()));
        vm.roll(_windowStart(0) - 1);
        _expectAuthRevert(
            prop,
            abi.encodeWithSelector(
                IFilFil.OutsideWindow.selector, 0, _windowStart(0) - 1, uint64(_windowStart(0)), uint64(_windowEnd(0))
            )
        );
        vm.roll(_windowEnd(0));
        _expectAuthRevert(
            prop,
            abi.encodeWithSelector(
                IFilFil.OutsideWindow.selector, 0, _windowEnd(0), uint64(_windowStart(0)), uint64(_windowEnd(0))
            )
        );
    }

    function test_RevertIf_AuthenticatePieceSizeMismatch() public {
        _openSlot0();
        TestCbor.DealFields memory d = _deal(_digest(0, 0), _holder0());
        d.pieceSize = 4096;
        _expectAuthRevert(TestCbor.proposal(d), abi.encodeWithSelector(IFilFil.PieceSizeMismatch.selector, 2048, 4096));
    }

    function test_RevertIf_AuthenticateVerifiedDeal() public {
        _openSlot0();
        TestCbor.DealFields memory d = _deal(_digest(0, 0), _holder0());
        d.verified = true;
        _expectAuthRevert(TestCbor.proposal(d), abi.encodeWithSelector(IFilFil.VerifiedDealNotAllowed.selector));
    }

    function test_RevertIf_AuthenticateStartTooLate() public {
        _openSlot0();
        TestCbor.DealFields memory d = _deal(_digest(0, 0), _holder0());
        d.startEpoch = int64(uint64(block.number + 100_001));
        d.endEpoch = d.startEpoch + 600_000;
        _expectAuthRevert(
            TestCbor.proposal(d),
            abi.encodeWithSelector(IFilFil.DealStartTooLate.selector, d.startEpoch, block.number + 100_000)
        );
    }

    function test_RevertIf_AuthenticateDurationOutOfRange() public {
        _openSlot0();
        TestCbor.DealFields memory d = _deal(_digest(0, 0), _holder0());
        d.endEpoch = d.startEpoch + 518_399;
        _expectAuthRevert(
            TestCbor.proposal(d),
            abi.encodeWithSelector(IFilFil.DealDurationOutOfRange.selector, int64(518_399), 518_400, 3_680_640)
        );
        d.endEpoch = d.startEpoch + 3_680_641;
        _expectAuthRevert(
            TestCbor.proposal(d),
            abi.encodeWithSelector(IFilFil.DealDurationOutOfRange.selector, int64(3_680_641), 518_400, 3_680_640)
        );
    }

    function test_RevertIf_AuthenticatePriceTooHigh() public {
        _openSlot0();
        TestCbor.DealFields memory d = _deal(_digest(0, 0), _holder0());
        // max 1e12 per GiB per epoch -> for 2048 bytes: 1e12 * 2048 / 2^30 = 1907348 (floor)
        d.price = 1907349;
        _expectAuthRevert(TestCbor.proposal(d), abi.encodeWithSelector(IFilFil.PriceTooHigh.selector, 1907349, 1907348));
        d.price = 1907348;
        (bool ok,) = _authenticate(TestCbor.proposal(d));
        assertTrue(ok);
    }

    function test_RevertIf_AuthenticateClientCollateral() public {
        _openSlot0();
        TestCbor.DealFields memory d = _deal(_digest(0, 0), _holder0());
        d.clientCollateral = 1;
        _expectAuthRevert(TestCbor.proposal(d), abi.encodeWithSelector(IFilFil.ClientCollateralNotZero.selector, 1));
    }

    function test_RevertIf_AuthenticateProviderCollateralTooLow() public {
        _openSlot0();
        TestCbor.DealFields memory d = _deal(_digest(0, 0), _holder0());
        d.providerCollateral = 0;
        _expectAuthRevert(TestCbor.proposal(d), abi.encodeWithSelector(IFilFil.ProviderCollateralTooLow.selector, 0, 1));
    }

    // ------------------------------------------------------------------ MarketNotifyDeal

    function test_MarketNotifyDeal_VectorWithClientCollateralIsIgnored() public {
        _openVectorSlot();
        bytes memory cbor = abi.encodePacked(hex"82584c", VECTOR_PROPOSAL, hex"1904d2");
        vm.recordLogs();
        vm.prank(MARKET);
        ff.handle_filecoin_method(MARKET_NOTIFY_DEAL, 0x51, cbor);
        assertEq(vm.getRecordedLogs().length, 0, "unrecognised deal: no event, no revert");
        assertEq(ff.deal(1234).minerId, 0);
    }

    function test_MarketNotifyDeal_RecordsVectorDeal() public {
        _openVectorSlot();
        ff.fundRewards{value: 5 ether}();
        uint256 seat = _seatIndex(0, VECTOR_PROVIDER);
        bytes memory cbor = abi.encodePacked(hex"82584a", VECTOR_PROPOSAL_NO_CLIENT_COLLATERAL, hex"1904d2");
        vm.expectEmit(address(ff));
        emit IFilFil.DealRecorded(0, seat, 0, VECTOR_PROVIDER, 1234);
        vm.expectEmit(address(ff));
        emit IFilFil.SeatFulfilled(0, seat, VECTOR_PROVIDER, REWARD);
        vm.prank(MARKET);
        (uint32 exitCode, uint64 codec, bytes memory data) = ff.handle_filecoin_method(MARKET_NOTIFY_DEAL, 0x51, cbor);
        assertEq(exitCode, 0);
        assertEq(codec, 0);
        assertEq(data.length, 0);
        IFilFil.DealRecord memory d = ff.deal(1234);
        assertEq(d.minerId, VECTOR_PROVIDER);
        assertEq(d.endEpoch, 576010);
        (bool recorded, bool ddo, uint64 dealId) = ff.dealOf(0, seat, 0);
        assertTrue(recorded);
        assertFalse(ddo);
        assertEq(dealId, 1234);
        assertEq(ff.balanceOf(_payout(VECTOR_PROVIDER)), REWARD);
        IFilFil.SnapshotInfo memory s = ff.snapshot(0);
        assertEq(s.dealsPerSeat[seat], 1);
        assertTrue(s.fulfilled[seat]);
        assertEq(uint8(s.status), uint8(IFilFil.SlotStatus.Open));
    }

    function test_MarketNotifyDeal_IgnoresUnrecognised() public {
        _openSlot0();
        uint64 holder = _holder0();
        bytes memory good = TestCbor.proposal(_deal(_digest(0, 0), holder));
        vm.recordLogs();
        vm.startPrank(MARKET);
        ff.handle_filecoin_method(MARKET_NOTIFY_DEAL, 0x51, hex"82");
        ff.handle_filecoin_method(MARKET_NOTIFY_DEAL, 0x51, TestCbor.notifyParams(hex"8b", 1));
        ff.handle_filecoin_method(
            MARKET_NOTIFY_DEAL, 0x51, TestCbor.notifyParams(TestCbor.proposal(_deal(_digest(5, 5), holder)), 2)
        );
        ff.handle_filecoin_method(
            MARKET_NOTIFY_DEAL, 0x51, TestCbor.notifyParams(TestCbor.proposal(_deal(_digest(0, 0), 555)), 3)
        );
        vm.stopPrank();
        assertEq(vm.getRecordedLogs().length, 0);
        _notify(good, 4);
        assertEq(ff.deal(4).minerId, holder);
        vm.recordLogs();
        _notify(good, 5); // same piece and seat again
        _notify(good, 4); // same deal id again
        assertEq(vm.getRecordedLogs().length, 0);
        assertEq(ff.deal(5).minerId, 0);
    }

    function test_RevertIf_MarketNotifyDealNotMarket() public {
        vm.expectRevert(abi.encodeWithSelector(IFilFil.NotMarketActor.selector, address(this)));
        ff.handle_filecoin_method(MARKET_NOTIFY_DEAL, 0x51, hex"82");
    }

    function test_Fulfilment_NeedsEveryPiece() public {
        _register(101);
        _register(102);
        _stage(0, 2);
        vm.roll(_windowStart(0));
        uint64 holder = _holder0();
        _notify(TestCbor.proposal(_deal(_digest(0, 0), holder)), 1);
        assertFalse(ff.snapshot(0).fulfilled[0]);
        _notify(TestCbor.proposal(_deal(_digest(0, 1), holder)), 2);
        assertTrue(ff.snapshot(0).fulfilled[0]);
        assertEq(ff.balanceOf(_payout(holder)), 0, "empty reward pool pays nothing");
    }

    // ------------------------------------------------------------------ SectorContentChanged

    function _pieceChanges(bytes32 a, bytes32 b) internal pure returns (TestCbor.PieceChange[] memory pcs) {
        pcs = new TestCbor.PieceChange[](2);
        pcs[0] = TestCbor.PieceChange({piece: a, size: 2048, payload: hex"1904d2"});
        pcs[1] = TestCbor.PieceChange({piece: b, size: 2048, payload: ""});
    }

    function test_SectorContentChanged_AcceptsSeatHolderPieces() public {
        _openSlot0();
        uint64 holder = _holder0();
        int64 minCommit = int64(uint64(block.number + 600_000));
        bytes memory cbor = abi.encodePacked(
            hex"82",
            TestCbor.sectorChanges(7, minCommit, _pieceChanges(_digest(0, 0), _digest(4, 4))),
            TestCbor.sectorChanges(8, minCommit, new TestCbor.PieceChange[](0))
        );
        vm.expectEmit(address(ff));
        emit IFilFil.PieceActivated(0, 0, 0, holder, 7);
        vm.prank(_masked(holder));
        (uint32 exitCode, uint64 codec, bytes memory data) =
            ff.handle_filecoin_method(SECTOR_CONTENT_CHANGED, 0x51, cbor);
        assertEq(exitCode, 0);
        assertEq(codec, 0x51);
        assertEq(data, hex"8282f5f480", "[[true, false], []]");
        (bool recorded, bool ddo,) = ff.dealOf(0, 0, 0);
        assertTrue(recorded && ddo);
        assertTrue(ff.snapshot(0).fulfilled[0]);
        // a second activation of the same piece is not accepted again
        vm.prank(_masked(holder));
        (,, data) = ff.handle_filecoin_method(SECTOR_CONTENT_CHANGED, 0x51, cbor);
        assertEq(data, hex"8282f4f480");
    }

    function test_SectorContentChanged_RejectsShortCommitmentAndOutsiders() public {
        _openSlot0();
        uint64 holder = _holder0();
        TestCbor.PieceChange[] memory pcs = _pieceChanges(_digest(0, 0), _digest(0, 0));
        bytes memory shortCommit =
            abi.encodePacked(hex"81", TestCbor.sectorChanges(7, int64(uint64(block.number + 1000)), pcs));
        vm.prank(_masked(holder));
        (,, bytes memory data) = ff.handle_filecoin_method(SECTOR_CONTENT_CHANGED, 0x51, shortCommit);
        assertEq(data, hex"8182f4f4");
        uint64 outsider;
        for (uint64 m = 101; m <= 103; ++m) {
            if (_seatIndex(0, m) == type(uint256).max) outsider = m;
        }
        bytes memory ok =
            abi.encodePacked(hex"81", TestCbor.sectorChanges(7, int64(uint64(block.number + 600_000)), pcs));
        vm.prank(_masked(outsider));
        (,, data) = ff.handle_filecoin_method(SECTOR_CONTENT_CHANGED, 0x51, ok);
        assertEq(data, hex"8182f4f4");
    }

    function test_RevertIf_SectorContentChangedNotMiner() public {
        vm.expectRevert(abi.encodeWithSelector(IFilFil.NotMinerActor.selector, address(this)));
        ff.handle_filecoin_method(SECTOR_CONTENT_CHANGED, 0x51, hex"80");
        vm.prank(_masked(999));
        vm.expectRevert(abi.encodeWithSelector(IFilFil.ProviderNotRegistered.selector, 999));
        ff.handle_filecoin_method(SECTOR_CONTENT_CHANGED, 0x51, hex"80");
    }

    function test_RevertIf_SectorContentChangedMalformed() public {
        _register(101);
        vm.prank(_masked(101));
        vm.expectRevert(IFilFil.MalformedParams.selector);
        ff.handle_filecoin_method(SECTOR_CONTENT_CHANGED, 0x51, hex"8183");
        vm.prank(_masked(101));
        vm.expectRevert(IFilFil.MalformedParams.selector);
        ff.handle_filecoin_method(SECTOR_CONTENT_CHANGED, 0x51, hex"8000");
    }

    // ------------------------------------------------------------------ misses

    function test_RecordMiss_DeregistersAfterMaxMisses() public {
        _register(101); // alone: holds seat 0 of every slot
        for (uint64 k; k < 3; ++k) {
            _stage(k, 1);
            vm.roll(_windowEnd(k));
            if (k < 2) {
                vm.expectEmit(address(ff));
                emit IFilFil.MissRecorded(k, 0, 101, uint32(k + 1));
            } else {
                vm.expectEmit(address(ff));
                emit IFilFil.ProviderDeregistered(101, COLLATERAL, 3); // 1-slot rounds: next round is slot 3
            }
            ff.recordMiss(k, 0);
        }
        IFilFil.ProviderInfo memory p = ff.provider(101);
        assertEq(uint8(p.status), uint8(IFilFil.ProviderStatus.Deregistered));
        assertEq(p.stake, 0);
        (uint256 pool, uint256 stake,) = ff.totals();
        assertEq(pool, COLLATERAL);
        assertEq(stake, 0);
        assertEq(ff.seatsOf(3)[0], 0, "removed from the next round");
        assertEq(ff.seatsOf(2)[0], 101, "keeps the running round");
    }

    function test_RecordMiss_FulfilmentResetsConsecutiveMisses() public {
        _register(101);
        _stage(0, 1);
        vm.roll(_windowEnd(0));
        ff.recordMiss(0, 0);
        _stage(1, 1);
        vm.roll(_windowStart(1));
        _notify(TestCbor.proposal(_deal(_digest(1, 0), 101)), 1);
        assertEq(ff.provider(101).misses, 0);
    }

    function test_RevertIf_RecordMissInvalid() public {
        _register(101);
        vm.expectRevert(abi.encodeWithSelector(IFilFil.SlotNotStaged.selector, 0));
        ff.recordMiss(0, 0);
        _stage(0, 1);
        vm.expectRevert(abi.encodeWithSelector(IFilFil.WindowNotClosed.selector, 0, uint64(_windowEnd(0))));
        ff.recordMiss(0, 0);
        vm.roll(_windowEnd(0));
        vm.expectRevert(abi.encodeWithSelector(IFilFil.SeatOutOfRange.selector, 0, 2));
        ff.recordMiss(0, 2);
        vm.expectRevert(abi.encodeWithSelector(IFilFil.SeatVacant.selector, 0, 1));
        ff.recordMiss(0, 1);
        ff.recordMiss(0, 0);
        vm.expectRevert(abi.encodeWithSelector(IFilFil.MissAlreadyRecorded.selector, 0, 0));
        ff.recordMiss(0, 0);
    }

    function test_RevertIf_RecordMissFulfilled() public {
        _openSlot0();
        _notify(TestCbor.proposal(_deal(_digest(0, 0), _holder0())), 1);
        vm.roll(_windowEnd(0));
        vm.expectRevert(abi.encodeWithSelector(IFilFil.SeatAlreadyFulfilled.selector, 0, 0));
        ff.recordMiss(0, 0);
    }

    // ------------------------------------------------------------------ terminations

    function _recordedDeal() internal returns (uint64 holder) {
        _openSlot0();
        holder = _holder0();
        _notify(TestCbor.proposal(_deal(_digest(0, 0), holder)), 42);
    }

    function test_ReportTermination_TerminatedDeal() public {
        uint64 holder = _recordedDeal();
        actors.setActivation(42, 0, 100, 200);
        uint256 penalty = COLLATERAL / 3;
        vm.expectEmit(address(ff));
        emit IFilFil.TerminationReported(42, holder, penalty);
        ff.reportTermination(42);
        assertEq(ff.provider(holder).stake, COLLATERAL - penalty);
        assertEq(ff.provider(holder).misses, 1);
        assertTrue(ff.deal(42).terminationReported);
        (uint256 pool,,) = ff.totals();
        assertEq(pool, penalty);
        vm.expectRevert(abi.encodeWithSelector(IFilFil.TerminationAlreadyReported.selector, 42));
        ff.reportTermination(42);
    }

    function test_ReportTermination_CleanedUpBeforeEnd() public {
        uint64 holder = _recordedDeal();
        actors.setActivation(42, 32, 0, 0); // EX_DEAL_EXPIRED
        ff.reportTermination(42);
        assertEq(ff.provider(holder).misses, 1);
    }

    function test_RevertIf_ReportTerminationExpiredNormally() public {
        _recordedDeal();
        actors.setActivation(42, 32, 0, 0);
        vm.roll(uint256(uint64(ff.deal(42).endEpoch)));
        vm.expectRevert(abi.encodeWithSelector(IFilFil.DealNotTerminated.selector, 42));
        ff.reportTermination(42);
    }

    function test_RevertIf_ReportTerminationActiveDeal() public {
        _recordedDeal();
        actors.setActivation(42, 0, 100, -1);
        vm.expectRevert(abi.encodeWithSelector(IFilFil.DealNotTerminated.selector, 42));
        ff.reportTermination(42);
    }

    function test_RevertIf_ReportTerminationMarketFails() public {
        _recordedDeal();
        vm.expectRevert(abi.encodeWithSelector(IFilFil.MarketCallFailed.selector, int256(17))); // USR_NOT_FOUND
        ff.reportTermination(42);
    }

    function test_RevertIf_ReportTerminationMalformedReturn() public {
        _recordedDeal();
        actors.setRawActivationReturn(42, hex"8101");
        vm.expectRevert(IFilFil.MalformedParams.selector);
        ff.reportTermination(42);
    }

    function test_RevertIf_ReportTerminationUnknownDeal() public {
        vm.expectRevert(abi.encodeWithSelector(IFilFil.UnknownDeal.selector, 9));
        ff.reportTermination(9);
    }

    // ------------------------------------------------------------------ funding

    function test_FundEscrow_AddsMarketBalance() public {
        vm.expectEmit(address(ff));
        emit IFilFil.EscrowFunded(address(this), 3 ether);
        ff.fundEscrow{value: 3 ether}();
        assertEq(actors.escrowOf(address(ff)), 3 ether);
        assertEq(address(ff).balance, 0, "value went to the market");
    }

    function test_RevertIf_FundEscrowZero() public {
        vm.expectRevert(IFilFil.ZeroValue.selector);
        ff.fundEscrow();
        vm.expectRevert(IFilFil.ZeroValue.selector);
        ff.fundRewards();
    }

    function test_RevertIf_FundEscrowMarketFails() public {
        actors.setAddBalanceExitCode(16);
        vm.expectRevert(abi.encodeWithSelector(IFilFil.MarketCallFailed.selector, int256(16)));
        ff.fundEscrow{value: 1 ether}();
    }

    function test_RevertIf_RegisterMalformedControllerReturn() public {
        actors.setMiner(101, _owner(101));
        actors.setRawControllingReturn(101, hex"01");
        vm.deal(_owner(101), COLLATERAL);
        vm.prank(_owner(101));
        vm.expectRevert(abi.encodeWithSelector(IFilFil.NotControllingAddress.selector, 101, _owner(101)));
        ff.register{value: COLLATERAL}(101, _payout(101));
    }

    function test_RevertIf_PrecompileMissing() public {
        vm.etch(CALL_ACTOR_ID_PRECOMPILE, "");
        vm.expectRevert(FVMActor.PrecompileCallFailed.selector);
        ff.fundEscrow{value: 1}();
    }

    function test_FundRewards_AddsToPool() public {
        vm.expectEmit(address(ff));
        emit IFilFil.RewardsFunded(address(this), 2 ether);
        ff.fundRewards{value: 2 ether}();
        (uint256 pool,,) = ff.totals();
        assertEq(pool, 2 ether);
    }

    // ------------------------------------------------------------------ views

    function test_SlotOf() public {
        assertEq(ff.slotOf(START), 0);
        assertEq(ff.slotOf(START + INTERVAL - 1), 0);
        assertEq(ff.slotOf(START + 5 * INTERVAL), 5);
        vm.expectRevert(abi.encodeWithSelector(IFilFil.EpochBeforeStart.selector, START - 1, START));
        ff.slotOf(START - 1);
    }

    function test_Snapshot_StatusLifecycle() public {
        _register(101);
        IFilFil.SnapshotInfo memory s = ff.snapshot(0);
        assertEq(s.epoch, START);
        assertEq(s.windowStart, START + READY);
        assertEq(s.windowEnd, START + READY + CLAIM);
        assertEq(uint8(s.status), uint8(IFilFil.SlotStatus.Unstaged));
        _stage(0, 1);
        assertEq(uint8(ff.snapshot(0).status), uint8(IFilFil.SlotStatus.Staged));
        vm.roll(_windowStart(0));
        assertEq(uint8(ff.snapshot(0).status), uint8(IFilFil.SlotStatus.Open));
        vm.roll(_windowEnd(0));
        assertEq(uint8(ff.snapshot(0).status), uint8(IFilFil.SlotStatus.Closed));
        assertEq(uint8(ff.snapshot(1).status), uint8(IFilFil.SlotStatus.Unstaged));
        vm.roll(_windowEnd(1));
        assertEq(uint8(ff.snapshot(1).status), uint8(IFilFil.SlotStatus.Skipped));
    }

    function test_NextWindow() public {
        _register(101);
        _register(102);
        _register(103);
        uint64[] memory l = ff.activeProviders(0);
        // l[0] holds seats at slots 0 (seat 0) and 2 (seat 1); l[1] at 0 (seat 1) and 1
        (uint64 slot, uint64 epoch, uint64 ws, uint64 we) = ff.nextWindow(l[1]);
        assertEq(slot, 0);
        assertEq(epoch, START);
        assertEq(ws, START + READY);
        assertEq(we, START + READY + CLAIM);
        vm.roll(_windowEnd(0));
        (slot,,,) = ff.nextWindow(l[0]);
        assertEq(slot, 2);
        (slot,,,) = ff.nextWindow(l[2]);
        assertEq(slot, 1);
    }

    function test_NextWindow_AcrossEras() public {
        _register(101);
        vm.roll(_epoch(0));
        vm.prank(_owner(101));
        ff.leave(101); // era 1 from slot 1 is empty
        _register(102); // joins at slot 1
        (uint64 slot,,,) = ff.nextWindow(102);
        assertEq(slot, 1);
        vm.roll(_windowEnd(0));
        vm.expectRevert(abi.encodeWithSelector(IFilFil.NoUpcomingWindow.selector, 101));
        ff.nextWindow(101);
    }

    function test_RevertIf_NextWindowUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(IFilFil.NoUpcomingWindow.selector, 5));
        ff.nextWindow(5);
    }

    function test_Providers_ListsEveryone() public {
        _register(101);
        _register(102);
        IFilFil.ProviderInfo[] memory ps = ff.providers();
        assertEq(ps.length, 2);
        assertEq(ps[1].minerId, 102);
        assertEq(ps[1].payout, _payout(102));
        assertEq(ps[1].leaveSlot, type(uint64).max);
    }

    function test_Approvals_View() public {
        bytes32[] memory a = new bytes32[](1);
        uint64[] memory sizes = new uint64[](1);
        (a[0], sizes[0]) = (_digest(0, 0), 2048);
        vm.roll(_epoch(0));
        vm.prank(op1);
        ff.approveStage(0, a, sizes);
        bytes32 key = keccak256(abi.encode(uint256(1), keccak256("filfil.stage"), uint64(0), a, sizes));
        assertEq(ff.approvals(key), 1);
    }
}
