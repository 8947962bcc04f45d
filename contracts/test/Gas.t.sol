// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {console2} from "forge-std/console2.sol";
import {FilFil} from "../src/FilFil.sol";
import {IFilFil} from "../src/interfaces/IFilFil.sol";
import {FilFilTestBase} from "./utils/FilFilTestBase.sol";
import {TestCbor} from "./utils/TestCbor.sol";

/// @notice Gas of the calls reported in docs/benchmarks.md. Storage is cooled (vm.cool) before each
///         measured call so slot accesses are charged as in a fresh transaction.
///         Run: npx forge test --match-contract GasTest -vv
contract GasTest is FilFilTestBase {
    uint256 internal constant SPS = 50;

    function _fill() internal {
        for (uint64 i; i < SPS; ++i) {
            _register(uint64(1000 + i));
        }
    }

    function _measure(string memory label) internal view returns (uint256 gasUsed) {
        gasUsed = vm.lastCallGas().gasTotalUsed;
        console2.log(label, gasUsed);
    }

    function test_Gas_Register() public {
        _fill();
        actors.setMiner(77, _owner(77));
        vm.deal(_owner(77), COLLATERAL);
        vm.cool(address(ff));
        vm.prank(_owner(77));
        ff.register{value: COLLATERAL}(77, _payout(77));
        _measure("register (51st SP)");
    }

    function test_Gas_ApproveStage() public {
        _fill();
        bytes32[] memory pieces = new bytes32[](1);
        uint64[] memory sizes = new uint64[](1);
        (pieces[0], sizes[0]) = (_digest(0, 0), 1 << 35);
        vm.roll(_epoch(0));
        vm.cool(address(ff));
        vm.prank(op1);
        ff.approveStage(0, pieces, sizes);
        _measure("approveStage (1st approval, 1 piece)");
        vm.cool(address(ff));
        vm.prank(op2);
        ff.approveStage(0, pieces, sizes);
        _measure("approveStage (threshold approval: stages 1 piece)");
    }

    function test_Gas_AuthenticateMessage() public {
        _fill();
        _stage(0, 1);
        vm.roll(_windowStart(0));
        bytes memory cbor =
            TestCbor.authParams(new bytes(96), TestCbor.proposal(_deal(_digest(0, 0), ff.seatsOf(0)[1])));
        vm.cool(address(ff));
        vm.prank(MARKET);
        (bool ok,) =
            address(ff).staticcall(abi.encodeCall(ff.handle_filecoin_method, (AUTHENTICATE_MESSAGE, 0x51, cbor)));
        assertTrue(ok);
        _measure("AuthenticateMessage (50 SPs, accepted)");
    }

    function test_Gas_MarketNotifyDeal() public {
        _fill();
        _stage(0, 1);
        ff.fundRewards{value: 10 ether}();
        vm.roll(_windowStart(0));
        bytes memory cbor = TestCbor.notifyParams(TestCbor.proposal(_deal(_digest(0, 0), ff.seatsOf(0)[1])), 1234);
        vm.cool(address(ff));
        vm.prank(MARKET);
        ff.handle_filecoin_method(MARKET_NOTIFY_DEAL, 0x51, cbor);
        _measure("MarketNotifyDeal (50 SPs, records deal, fulfils seat, credits reward)");
        assertEq(ff.deal(1234).minerId, ff.seatsOf(0)[1]);
    }

    function test_Gas_AuthenticateMessageIndependentOfSpCount() public {
        // same call with 5 SPs: cost must not grow with the number of SPs
        for (uint64 i; i < 5; ++i) {
            _register(uint64(1000 + i));
        }
        _stage(0, 1);
        vm.roll(_windowStart(0));
        bytes memory cbor =
            TestCbor.authParams(new bytes(96), TestCbor.proposal(_deal(_digest(0, 0), ff.seatsOf(0)[1])));
        vm.cool(address(ff));
        vm.prank(MARKET);
        (bool ok,) =
            address(ff).staticcall(abi.encodeCall(ff.handle_filecoin_method, (AUTHENTICATE_MESSAGE, 0x51, cbor)));
        assertTrue(ok);
        uint256 small = _measure("AuthenticateMessage (5 SPs, accepted)");
        assertLt(small, 60_000);
    }
}
