// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Script} from "forge-std/Script.sol";
import {console2} from "forge-std/console2.sol";
import {FilFil} from "../contracts/src/FilFil.sol";
import {IFilFil} from "../contracts/src/interfaces/IFilFil.sol";

/// @title DeployFilFil
/// @notice Deploys FilFil with parameters from the environment (see deploy/README.md).
contract DeployFilFil is Script {
    /// @notice Read the configuration from environment variables (with documented defaults).
    function config()
        public
        view
        returns (IFilFil.Schedule memory s, IFilFil.Params memory p, address[] memory ops, uint256 threshold)
    {
        ops = vm.envAddress("OPERATORS", ",");
        threshold = vm.envOr("THRESHOLD", uint256(2));
        s = IFilFil.Schedule({
            startEpoch: uint64(vm.envOr("START_EPOCH", block.number + 60)),
            snapshotInterval: uint64(vm.envOr("SNAPSHOT_INTERVAL", uint256(2880))),
            readyDelay: uint64(vm.envOr("READY_DELAY", uint256(240))),
            claimWindow: uint64(vm.envOr("CLAIM_WINDOW", uint256(2880)))
        });
        p = IFilFil.Params({
            replication: uint16(vm.envOr("REPLICATION", uint256(2))),
            maxMisses: uint16(vm.envOr("MAX_MISSES", uint256(3))),
            maxProviders: uint32(vm.envOr("MAX_PROVIDERS", uint256(100))),
            collateral: vm.envOr("COLLATERAL", uint256(1 ether)),
            rewardPerSeat: vm.envOr("REWARD_PER_SEAT", uint256(0)),
            policy: IFilFil.DealPolicy({
                minDuration: uint64(vm.envOr("MIN_DURATION", uint256(518_400))),
                maxDuration: uint64(vm.envOr("MAX_DURATION", uint256(3_680_640))),
                maxStartDelay: uint64(vm.envOr("MAX_START_DELAY", uint256(5760))),
                maxPricePerEpochPerGiB: vm.envOr("MAX_PRICE_PER_EPOCH_PER_GIB", uint256(100_000_000)),
                minProviderCollateral: vm.envOr("MIN_PROVIDER_COLLATERAL", uint256(0))
            })
        });
    }

    /// @notice Deploy with the environment's configuration, broadcasting from the script's sender.
    function run() external returns (FilFil ff) {
        (IFilFil.Schedule memory s, IFilFil.Params memory p, address[] memory ops, uint256 threshold) = config();
        vm.startBroadcast();
        ff = new FilFil(s, p, ops, threshold);
        vm.stopBroadcast();
        console2.log("FilFil deployed at", address(ff));
        console2.log("start epoch", s.startEpoch);
    }
}
