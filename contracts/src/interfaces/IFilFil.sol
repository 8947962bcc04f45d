// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

/// @title IFilFil
/// @notice Everything external of the FilFil deal-client contract: types, errors, events and functions.
///         The Rust daemon binds to this file with alloy's `sol!`.
/// @dev Epochs are Filecoin chain epochs (`block.number` on FEVM). Slot k is the snapshot taken at
///      `E_k = startEpoch + k * snapshotInterval`; its deal window is
///      `[E_k + readyDelay, E_k + readyDelay + claimWindow)`.
interface IFilFil {
    // ------------------------------------------------------------------ types

    /// @notice Fixed schedule, set at deployment.
    struct Schedule {
        /// @notice Epoch of slot 0.
        uint64 startEpoch;
        /// @notice Epochs between two snapshots.
        uint64 snapshotInterval;
        /// @notice Epochs between a snapshot epoch and the opening of its deal window.
        uint64 readyDelay;
        /// @notice Length of a deal window in epochs.
        uint64 claimWindow;
    }

    /// @notice Deal policy enforced in AuthenticateMessage.
    struct DealPolicy {
        /// @notice Minimum deal duration (end - start) in epochs, >= 518400 (market minimum).
        uint64 minDuration;
        /// @notice Maximum deal duration in epochs, <= 3680640 (market maximum).
        uint64 maxDuration;
        /// @notice A deal must start at most this many epochs after the current epoch.
        uint64 maxStartDelay;
        /// @notice Maximum storage price per epoch per GiB of padded piece size, in attoFIL.
        uint256 maxPricePerEpochPerGiB;
        /// @notice Minimum provider collateral of a deal, in attoFIL.
        uint256 minProviderCollateral;
    }

    /// @notice Parameters changeable by `threshold` operators.
    struct Params {
        /// @notice Seats per slot (r), capped at the number of active SPs; applies from the next round.
        uint16 replication;
        /// @notice Consecutive misses that deregister an SP and forfeit its collateral.
        uint16 maxMisses;
        /// @notice Maximum number of SPs in the list.
        uint32 maxProviders;
        /// @notice Collateral required to register, in attoFIL.
        uint256 collateral;
        /// @notice Reward credited from the reward pool per fulfilled seat (0 = none).
        uint256 rewardPerSeat;
        /// @notice Deal policy.
        DealPolicy policy;
    }

    /// @notice Registration state of an SP.
    enum ProviderStatus {
        None,
        Registered,
        Left,
        Deregistered
    }

    /// @notice Status of a slot.
    enum SlotStatus {
        /// @notice No pieces staged and the window has not closed.
        Unstaged,
        /// @notice Pieces staged, window not open yet.
        Staged,
        /// @notice Pieces staged, window open.
        Open,
        /// @notice Window closed with pieces staged.
        Closed,
        /// @notice Window closed and nothing was staged (no SP is at fault).
        Skipped
    }

    /// @notice Public view of an SP.
    struct ProviderInfo {
        uint64 minerId;
        address owner;
        address payout;
        uint256 stake;
        ProviderStatus status;
        /// @notice First slot of the round the SP joined at.
        uint64 joinSlot;
        /// @notice First slot without the SP (type(uint64).max while registered).
        uint64 leaveSlot;
        /// @notice Consecutive misses.
        uint32 misses;
    }

    /// @notice Public view of a slot.
    struct SnapshotInfo {
        uint64 slot;
        uint64 epoch;
        uint64 windowStart;
        uint64 windowEnd;
        /// @notice commP digests (sha2-256-trunc254-padded) of the staged pieces.
        bytes32[] pieces;
        /// @notice Padded sizes of the staged pieces.
        uint64[] sizes;
        /// @notice Approvals of the staged piece list (or of the latest proposal while unstaged).
        uint256 approvals;
        /// @notice Seat holders (miner actor IDs, 0 = vacant).
        uint64[] seats;
        /// @notice Pieces with a recorded deal or DDO activation, per seat.
        uint256[] dealsPerSeat;
        /// @notice Whether each seat is fulfilled.
        bool[] fulfilled;
        SlotStatus status;
    }

    /// @notice A deal recorded through MarketNotifyDeal.
    struct DealRecord {
        uint64 slot;
        uint16 seat;
        uint16 pieceIndex;
        uint64 minerId;
        int64 endEpoch;
        bool terminationReported;
    }

    // ------------------------------------------------------------------ errors

    /// @notice The caller is not a current operator.
    error NotOperator(address caller);
    /// @notice The operator already approved this proposal.
    error AlreadyApproved(bytes32 proposal, address operator);
    /// @notice Operator list empty, too short (< 2), too long (> 32), with a zero or duplicate address.
    error InvalidOperators();
    /// @notice Threshold outside 2..operators.
    error InvalidThreshold(uint256 threshold, uint256 operators);
    /// @notice Zero snapshot interval or claim window.
    error InvalidSchedule();
    /// @notice Replication outside 1..64.
    error InvalidReplication();
    /// @notice maxMisses is zero.
    error InvalidMaxMisses();
    /// @notice maxProviders is zero.
    error InvalidMaxProviders();
    /// @notice Durations outside the market's 518400..3680640 or min > max, or price cap above 2^128.
    error InvalidDealPolicy();

    /// @notice The slot already has staged pieces.
    error SlotAlreadyStaged(uint64 slot);
    /// @notice The slot's snapshot epoch has not been reached yet.
    error SnapshotEpochNotReached(uint64 slot, uint64 epoch);
    /// @notice The slot's window has closed.
    error StagingClosed(uint64 slot, uint64 windowEnd);
    /// @notice Empty or oversized (> 64) piece list, length mismatch, or a zero digest.
    error InvalidPieces();
    /// @notice A padded piece size that is not a power of two >= 128.
    error InvalidPieceSize(uint64 size);
    /// @notice The piece is already staged (for this or another slot).
    error PieceAlreadyStaged(bytes32 piece);

    /// @notice register() got less than the required collateral.
    error InsufficientCollateral(uint256 sent, uint256 required);
    /// @notice The miner is registered, or its previous registration is not settled yet.
    error ProviderAlreadyRegistered(uint64 minerId);
    /// @notice The miner actor says the caller is not its owner, worker or control address.
    error NotControllingAddress(uint64 minerId, address caller);
    /// @notice The actor has a delegated (f4) address, so it is an EVM actor, not a storage miner.
    error NotAStorageMiner(uint64 minerId);
    /// @notice The call to the miner actor failed (not a miner, or an actor error).
    error MinerCallFailed(uint64 minerId, int256 exitCode);
    /// @notice The list is full.
    error TooManyProviders(uint256 max);
    /// @notice Zero payout address.
    error InvalidPayout();
    /// @notice Miner ID 0.
    error InvalidMinerId();
    /// @notice The caller did not register this miner.
    error NotProviderOwner(uint64 minerId, address caller);
    /// @notice The miner is not (or no longer) registered.
    error ProviderNotRegistered(uint64 minerId);
    /// @notice The SP has not left.
    error ProviderNotLeaving(uint64 minerId);
    /// @notice One of the SP's windows is open until the given epoch.
    error WindowsStillOpen(uint64 minerId, uint64 untilEpoch);
    /// @notice Nothing to withdraw or release.
    error NothingToWithdraw();
    /// @notice Sending FIL to the caller failed.
    error TransferFailed();

    /// @notice Nothing was staged for the slot (no SP is at fault).
    error SlotNotStaged(uint64 slot);
    /// @notice The slot's window has not closed yet.
    error WindowNotClosed(uint64 slot, uint64 windowEnd);
    /// @notice Seat index >= the slot's seat count.
    error SeatOutOfRange(uint64 slot, uint256 seat);
    /// @notice The seat has no SP.
    error SeatVacant(uint64 slot, uint256 seat);
    /// @notice The seat was fulfilled.
    error SeatAlreadyFulfilled(uint64 slot, uint256 seat);
    /// @notice The miss was already recorded.
    error MissAlreadyRecorded(uint64 slot, uint256 seat);

    /// @notice No deal with this ID was recorded.
    error UnknownDeal(uint64 dealId);
    /// @notice The deal's termination was already reported.
    error TerminationAlreadyReported(uint64 dealId);
    /// @notice The market reports the deal active or expired normally.
    error DealNotTerminated(uint64 dealId);
    /// @notice A market actor call failed with this exit code.
    error MarketCallFailed(int256 exitCode);
    /// @notice The call_actor_id precompile call failed.
    error PrecompileCallFailed();
    /// @notice No FIL attached.
    error ZeroValue();

    /// @notice AuthenticateMessage / MarketNotifyDeal not sent by the market actor f05.
    error NotMarketActor(address caller);
    /// @notice SectorContentChanged not sent by a native actor (masked ID address).
    error NotMinerActor(address caller);
    /// @notice handle_filecoin_method got a method FilFil does not implement.
    error UnsupportedMethod(uint64 method);
    /// @notice Params codec is neither CBOR (0x51) nor DAG-CBOR (0x71).
    error UnsupportedCodec(uint64 codec);
    /// @notice Malformed CBOR params or actor return value.
    error MalformedParams();
    /// @notice AuthenticateMessage params do not hold a well-formed DealProposal.
    error MalformedProposal();
    /// @notice The deal's piece is not staged for any slot.
    error PieceNotStaged(bytes32 piece);
    /// @notice The deal's provider is not an ID address.
    error ProviderNotIdAddress();
    /// @notice The provider holds no seat of the piece's slot.
    error NotSeatHolder(uint64 slot, uint64 providerId);
    /// @notice The seat already has a deal or activation for this piece.
    error PieceAlreadyDealt(uint64 slot, uint256 seat, uint256 pieceIndex);
    /// @notice The current epoch is outside the slot's window.
    error OutsideWindow(uint64 slot, uint256 epoch, uint64 windowStart, uint64 windowEnd);
    /// @notice The deal's padded size differs from the staged size.
    error PieceSizeMismatch(uint64 expected, uint64 actual);
    /// @notice Verified (DataCap) deals are not accepted.
    error VerifiedDealNotAllowed();
    /// @notice The deal starts later than the policy allows.
    error DealStartTooLate(int64 startEpoch, uint256 latest);
    /// @notice The deal's duration is outside the policy.
    error DealDurationOutOfRange(int64 duration, uint64 min, uint64 max);
    /// @notice The price per epoch exceeds the policy for this piece size.
    error PriceTooHigh(uint256 pricePerEpoch, uint256 maxPricePerEpoch);
    /// @notice The client collateral must be zero.
    error ClientCollateralNotZero(uint256 clientCollateral);
    /// @notice The provider collateral is below the policy floor.
    error ProviderCollateralTooLow(uint256 providerCollateral, uint256 minimum);

    /// @notice The epoch is before slot 0.
    error EpochBeforeStart(uint256 epoch, uint64 startEpoch);
    /// @notice The miner holds no seat in any slot whose window has not closed.
    error NoUpcomingWindow(uint64 minerId);

    // ------------------------------------------------------------------ events

    /// @notice An operator approved a proposal (staging, operator change or parameter change).
    event ProposalApproved(bytes32 indexed proposal, address indexed operator, uint256 approvals);
    /// @notice An operator approved a piece list for a slot.
    event StageApproved(uint64 indexed slot, bytes32 indexed proposal, address indexed operator, uint256 approvals);
    /// @notice A piece list reached the threshold and was staged for a slot.
    event SnapshotStaged(uint64 indexed slot, bytes32 indexed proposal, bytes32[] pieces, uint64[] sizes);
    /// @notice The operator set or threshold changed.
    event OperatorsChanged(address[] operators, uint256 threshold, uint256 generation);
    /// @notice The parameters changed.
    event ParamsChanged(Params params);
    /// @notice A round era (consecutive rounds over one frozen list) was scheduled or updated.
    event RoundsScheduled(uint256 indexed era, uint64 startSlot, uint32 providers, uint16 replication);
    /// @notice An SP registered; it joins at `joinSlot`.
    event ProviderRegistered(
        uint64 indexed minerId, address indexed owner, address payout, uint256 stake, uint64 joinSlot
    );
    /// @notice An SP left; it holds no seat from `leaveSlot` on.
    event ProviderLeft(uint64 indexed minerId, uint64 leaveSlot);
    /// @notice An SP was deregistered after too many misses; its collateral went to the reward pool.
    event ProviderDeregistered(uint64 indexed minerId, uint256 forfeited, uint64 leaveSlot);
    /// @notice A storage deal was recorded against a seat.
    event DealRecorded(
        uint64 indexed slot, uint256 seat, uint256 pieceIndex, uint64 indexed minerId, uint64 indexed dealId
    );
    /// @notice A DDO piece activation (SectorContentChanged) was recorded against a seat.
    event PieceActivated(uint64 indexed slot, uint256 seat, uint256 pieceIndex, uint64 indexed minerId, uint64 sector);
    /// @notice Every staged piece of a seat has a deal or activation; `reward` was credited.
    event SeatFulfilled(uint64 indexed slot, uint256 seat, uint64 indexed minerId, uint256 reward);
    /// @notice A seat's window closed unfulfilled.
    event MissRecorded(uint64 indexed slot, uint256 seat, uint64 indexed minerId, uint32 consecutiveMisses);
    /// @notice A recorded deal was terminated early; `penalty` moved from the SP's stake to the reward pool.
    event TerminationReported(uint64 indexed dealId, uint64 indexed minerId, uint256 penalty);
    /// @notice An SP's collateral was released to its owner's withdrawable balance.
    event CollateralReleased(uint64 indexed minerId, address indexed owner, uint256 amount);
    /// @notice An account withdrew its balance.
    event Withdrawn(address indexed account, uint256 amount);
    /// @notice The contract's market escrow was topped up.
    event EscrowFunded(address indexed from, uint256 amount);
    /// @notice The reward pool was topped up.
    event RewardsFunded(address indexed from, uint256 amount);

    // ------------------------------------------------------------------ operators

    /// @notice Approve staging `pieces` (commP digests) with padded `sizes` for `slot`. Stages once
    ///         `threshold` operators approved the identical list.
    /// @param slot Snapshot slot; its epoch must have been reached and its window not closed.
    /// @param pieces commP digests (the 32 bytes after the CID prefix 0x0181e203922020).
    /// @param sizes Padded piece sizes (powers of two, >= 128).
    function approveStage(uint64 slot, bytes32[] calldata pieces, uint64[] calldata sizes) external;

    /// @notice Approve replacing the operator set and threshold (threshold approvals execute it;
    ///         all pending proposals are invalidated).
    /// @param operators New operators (2..32, distinct, non-zero).
    /// @param threshold New threshold (2..operators.length).
    function approveOperators(address[] calldata operators, uint256 threshold) external;

    /// @notice Approve new parameters (threshold approvals execute them).
    /// @param params New parameters; replication applies from the next round.
    function approveParams(Params calldata params) external;

    // ------------------------------------------------------------------ SPs

    /// @notice Register a miner actor as an SP. The caller must control the miner (owner, worker or
    ///         control address, checked with the miner's IsControllingAddress). Joins at the next round.
    /// @param minerId Miner actor ID (f0…).
    /// @param payout Address credited with rewards.
    function register(uint64 minerId, address payout) external payable;

    /// @notice Leave; effective from the next round.
    /// @param minerId Miner actor ID.
    function leave(uint64 minerId) external;

    /// @notice Release a left SP's collateral to its owner's balance once none of its windows is open.
    /// @param minerId Miner actor ID.
    function releaseCollateral(uint64 minerId) external;

    /// @notice Withdraw the caller's balance (released collateral and rewards).
    function withdraw() external;

    // ------------------------------------------------------------------ enforcement

    /// @notice Record that `seat` of `slot` missed: its window closed, pieces were staged, and not
    ///         all of them got a deal from the seat holder.
    /// @param slot Slot.
    /// @param seat Seat index.
    function recordMiss(uint64 slot, uint256 seat) external;

    /// @notice Penalise the SP of a recorded deal that was terminated early (market GetDealActivation).
    /// @param dealId Market deal ID.
    function reportTermination(uint64 dealId) external;

    // ------------------------------------------------------------------ funding

    /// @notice Add the attached value to this contract's market escrow (market AddBalance).
    function fundEscrow() external payable;

    /// @notice Add the attached value to the reward pool.
    function fundRewards() external payable;

    // ------------------------------------------------------------------ Filecoin actor entry point

    /// @notice Entry point for calls from native actors (FRC-42 method numbers): AuthenticateMessage
    ///         (market, read-only), MarketNotifyDeal (market), SectorContentChanged (miner actors).
    /// @param method FRC-42 method number.
    /// @param codec Codec of `params` (0x51 CBOR or 0x71 DAG-CBOR).
    /// @param rawParams CBOR params.
    /// @return exitCode 0.
    /// @return retCodec 0x51 with data, or 0 without.
    /// @return data CBOR return value.
    function handle_filecoin_method(uint64 method, uint64 codec, bytes calldata rawParams)
        external
        returns (uint32 exitCode, uint64 retCodec, bytes memory data);

    // ------------------------------------------------------------------ views

    /// @notice Slot whose snapshot epoch is the latest one at or before `epoch`.
    function slotOf(uint256 epoch) external view returns (uint64);

    /// @notice Seat holders of `slot` (miner IDs; 0 = vacant). Later rounds are provisional until
    ///         the round before them has started.
    function seatsOf(uint64 slot) external view returns (uint64[] memory);

    /// @notice Everything about a slot.
    function snapshot(uint64 slot) external view returns (SnapshotInfo memory);

    /// @notice The next slot (window not yet closed) where `minerId` holds a seat.
    function nextWindow(uint64 minerId)
        external
        view
        returns (uint64 slot, uint64 epoch, uint64 windowStart, uint64 windowEnd);

    /// @notice All SPs that ever registered.
    function providers() external view returns (ProviderInfo[] memory);

    /// @notice One SP.
    function provider(uint64 minerId) external view returns (ProviderInfo memory);

    /// @notice The SP list (miner IDs, round-robin order) in force at `slot`.
    function activeProviders(uint64 slot) external view returns (uint64[] memory);

    /// @notice Deal ID (and whether one is recorded; DDO activations have no deal ID) of a seat's piece.
    function dealOf(uint64 slot, uint256 seat, uint256 pieceIndex)
        external
        view
        returns (bool recorded, bool ddo, uint64 dealId);

    /// @notice A recorded deal.
    function deal(uint64 dealId) external view returns (DealRecord memory);

    /// @notice Current operators and threshold.
    function operators() external view returns (address[] memory ops, uint256 threshold);

    /// @notice Approvals of a proposal.
    function approvals(bytes32 proposal) external view returns (uint256);

    /// @notice The fixed schedule.
    function schedule() external view returns (Schedule memory);

    /// @notice Current parameters.
    function params() external view returns (Params memory);

    /// @notice Withdrawable balance of an account.
    function balanceOf(address account) external view returns (uint256);

    /// @notice Reward pool, total SP stake and total withdrawable balances.
    function totals() external view returns (uint256 rewardPool, uint256 totalStake, uint256 totalBalances);
}
