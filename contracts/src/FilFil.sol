// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {IFilFil} from "./interfaces/IFilFil.sol";
import {FilCbor} from "./lib/FilCbor.sol";
import {FVMActor} from "./lib/FVMActor.sol";

/// @title FilFil
/// @notice Deal client for Filecoin chain snapshots: SP registry, round-robin snapshot slots,
///         k-of-n operator-staged commP, and deal authentication for the built-in market actor.
/// @dev Round-robin. The SP list is versioned in *eras*: an era is a run of rounds over one frozen
///      list of n SPs (round = n slots; an empty list gives 1-slot rounds). Slot j of a round has r
///      seats held by L[(j + i) mod n], i < min(r, n). A registration, leave or replication change
///      edits the *next* era, which starts at the first round boundary after the current slot, so
///      the running round never changes. List positions and SP positions are stored as per-era
///      version histories, so the holder of any seat (past, current or provisional future) is found
///      with two binary searches and no loop over SPs, without any state being "materialised":
///      views and the read-only AuthenticateMessage are exact at any epoch.
contract FilFil is IFilFil {
    using FilCbor for FilCbor.Reader;

    // ------------------------------------------------------------------ constants

    uint256 internal constant MAX_OPERATORS = 32;
    uint256 internal constant MAX_PIECES = 64;
    uint256 internal constant MAX_REPLICATION = 64;
    /// @dev Market deal duration bounds (builtin-actors market policy: 180 and 1278 days).
    uint64 internal constant MARKET_MIN_DURATION = 518_400;
    uint64 internal constant MARKET_MAX_DURATION = 3_680_640;
    uint256 internal constant GIB = 1 << 30;

    bytes32 internal constant KIND_STAGE = keccak256("filfil.stage");
    bytes32 internal constant KIND_OPERATORS = keccak256("filfil.operators");
    bytes32 internal constant KIND_PARAMS = keccak256("filfil.params");

    uint256 internal constant RECORDED = 1 << 255;
    uint256 internal constant RECORDED_DDO = 1 << 254;

    // ------------------------------------------------------------------ storage

    struct Era {
        uint64 startSlot;
        uint32 n;
        uint16 r;
    }

    struct Provider {
        address owner;
        uint64 joinSlot;
        uint32 misses;
        ProviderStatus status;
        address payout;
        uint64 leaveSlot;
        uint256 stake;
    }

    struct SlotData {
        bytes32 stagedProposal;
        bytes32 lastProposal;
        uint16 pieceCount;
    }

    struct Piece {
        bytes32 digest;
        uint64 size;
    }

    struct SeatState {
        uint16 done;
        bool fulfilled;
        bool missed;
    }

    /// @dev Outcome of the deal checks, in the order the issue lists them.
    enum Check {
        Ok,
        PieceNotStaged,
        ProviderNotId,
        NotSeatHolder,
        AlreadyDealt,
        OutsideWindow,
        SizeMismatch,
        Verified,
        StartTooLate,
        Duration,
        Price,
        ClientCollateral,
        ProviderCollateral
    }

    struct Eval {
        Check check;
        uint64 slot;
        uint256 seat;
        uint256 pieceIndex;
        uint64 stagedSize;
    }

    Schedule internal _schedule;
    Params internal _params;

    address[] internal _operators;
    uint256 internal _threshold;
    uint256 internal _generation;
    uint256 internal _paramsNonce;
    mapping(uint256 generation => mapping(address => bool)) internal _isOperator;
    mapping(bytes32 proposal => uint256) internal _approvalCount;
    mapping(bytes32 proposal => mapping(address => bool)) internal _approved;

    Era[] internal _eras;
    /// @dev List position -> history of (era << 64 | minerId).
    mapping(uint256 pos => uint256[]) internal _posHistory;
    /// @dev Miner -> history of (era << 64 | position + 1), 0 = not in the list.
    mapping(uint64 minerId => uint256[]) internal _minerHistory;

    mapping(uint64 minerId => Provider) internal _providers;
    uint64[] internal _allMiners;

    mapping(uint64 slot => SlotData) internal _slots;
    mapping(uint64 slot => mapping(uint256 index => Piece)) internal _pieces;
    /// @dev commP digest -> (slot << 16 | index) + 1.
    mapping(bytes32 digest => uint256) internal _pieceLocation;
    mapping(uint64 slot => mapping(uint256 seat => SeatState)) internal _seats;
    /// @dev (slot, seat, piece) -> RECORDED | RECORDED_DDO? | dealId.
    mapping(uint64 slot => mapping(uint256 seat => mapping(uint256 index => uint256))) internal _seatPieces;
    mapping(uint64 dealId => DealRecord) internal _deals;

    uint256 internal _rewardPool;
    uint256 internal _totalStake;
    uint256 internal _totalBalances;
    mapping(address => uint256) internal _balances;

    // ------------------------------------------------------------------ construction

    /// @param schedule_ Fixed schedule.
    /// @param params_ Initial parameters.
    /// @param operators_ Initial operators (2..32, distinct).
    /// @param threshold_ Approvals needed (2..operators).
    constructor(Schedule memory schedule_, Params memory params_, address[] memory operators_, uint256 threshold_) {
        if (schedule_.snapshotInterval == 0 || schedule_.claimWindow == 0) revert InvalidSchedule();
        _validateParams(params_);
        _validateOperators(operators_, threshold_);
        _schedule = schedule_;
        _params = params_;
        _setOperators(operators_, threshold_);
        _eras.push(Era({startSlot: 0, n: 0, r: params_.replication}));
        emit ParamsChanged(params_);
        emit RoundsScheduled(0, 0, 0, params_.replication);
    }

    // ------------------------------------------------------------------ operators

    /// @inheritdoc IFilFil
    function approveStage(uint64 slot, bytes32[] calldata pieces, uint64[] calldata sizes) external {
        _onlyOperator();
        SlotData storage sd = _slots[slot];
        if (sd.pieceCount != 0) revert SlotAlreadyStaged(slot);
        uint256 epoch = _epochOf(slot);
        if (block.number < epoch) revert SnapshotEpochNotReached(slot, _u64(epoch));
        uint256 windowEnd = epoch + _schedule.readyDelay + _schedule.claimWindow;
        if (block.number >= windowEnd) revert StagingClosed(slot, _u64(windowEnd));
        uint256 count = pieces.length;
        if (count == 0 || count > MAX_PIECES || sizes.length != count) revert InvalidPieces();
        for (uint256 i; i < count; ++i) {
            uint64 size = sizes[i];
            if (size < 128 || size & (size - 1) != 0) revert InvalidPieceSize(size);
            if (pieces[i] == bytes32(0)) revert InvalidPieces();
        }

        bytes32 key = keccak256(abi.encode(_generation, KIND_STAGE, slot, pieces, sizes));
        uint256 approvals_ = _approve(key);
        sd.lastProposal = key;
        emit StageApproved(slot, key, msg.sender, approvals_);
        if (approvals_ < _threshold) return;

        for (uint256 i; i < count; ++i) {
            bytes32 d = pieces[i];
            if (_pieceLocation[d] != 0) revert PieceAlreadyStaged(d);
            _pieceLocation[d] = ((uint256(slot) << 16) | i) + 1;
            _pieces[slot][i] = Piece({digest: d, size: sizes[i]});
        }
        sd.pieceCount = uint16(count);
        sd.stagedProposal = key;
        emit SnapshotStaged(slot, key, pieces, sizes);
    }

    /// @inheritdoc IFilFil
    function approveOperators(address[] calldata operators_, uint256 threshold_) external {
        _onlyOperator();
        _validateOperators(operators_, threshold_);
        bytes32 key = keccak256(abi.encode(_generation, KIND_OPERATORS, operators_, threshold_));
        uint256 approvals_ = _approve(key);
        emit ProposalApproved(key, msg.sender, approvals_);
        if (approvals_ < _threshold) return;
        _setOperators(operators_, threshold_);
    }

    /// @inheritdoc IFilFil
    function approveParams(Params calldata params_) external {
        _onlyOperator();
        _validateParams(params_);
        bytes32 key = keccak256(abi.encode(_generation, KIND_PARAMS, _paramsNonce, params_));
        uint256 approvals_ = _approve(key);
        emit ProposalApproved(key, msg.sender, approvals_);
        if (approvals_ < _threshold) return;
        // executed: later proposals (even of the same values) get a fresh key
        ++_paramsNonce;
        _params = params_;
        emit ParamsChanged(params_);
        if (_eras[_eras.length - 1].r != params_.replication) {
            uint256 ei = _nextEra();
            _eras[ei].r = params_.replication;
            _emitEra(ei);
        }
    }

    // ------------------------------------------------------------------ SPs

    /// @inheritdoc IFilFil
    function register(uint64 minerId, address payout) external payable {
        if (minerId == 0) revert InvalidMinerId();
        if (payout == address(0)) revert InvalidPayout();
        Provider storage p = _providers[minerId];
        if (
            p.status == ProviderStatus.Registered
                || (p.status != ProviderStatus.None && (p.stake != 0 || _startedSlots() <= p.leaveSlot))
        ) revert ProviderAlreadyRegistered(minerId);
        if (msg.value < _params.collateral) revert InsufficientCollateral(msg.value, _params.collateral);
        _checkController(minerId);

        uint256 ei = _nextEra();
        Era storage e = _eras[ei];
        if (e.n >= _params.maxProviders) revert TooManyProviders(_params.maxProviders);
        _listAppend(ei, minerId);

        if (p.status == ProviderStatus.None) _allMiners.push(minerId);
        p.owner = msg.sender;
        p.payout = payout;
        p.stake = msg.value;
        p.status = ProviderStatus.Registered;
        p.joinSlot = e.startSlot;
        p.leaveSlot = type(uint64).max;
        p.misses = 0;
        _totalStake += msg.value;
        emit ProviderRegistered(minerId, msg.sender, payout, msg.value, e.startSlot);
        _emitEra(ei);
    }

    /// @inheritdoc IFilFil
    function leave(uint64 minerId) external {
        Provider storage p = _providers[minerId];
        if (p.owner != msg.sender) revert NotProviderOwner(minerId, msg.sender);
        if (p.status != ProviderStatus.Registered) revert ProviderNotRegistered(minerId);
        uint256 ei = _nextEra();
        _listRemove(ei, minerId);
        p.status = ProviderStatus.Left;
        p.leaveSlot = _eras[ei].startSlot;
        emit ProviderLeft(minerId, p.leaveSlot);
        _emitEra(ei);
    }

    /// @inheritdoc IFilFil
    function releaseCollateral(uint64 minerId) external {
        Provider storage p = _providers[minerId];
        if (p.owner != msg.sender) revert NotProviderOwner(minerId, msg.sender);
        if (p.status != ProviderStatus.Left) revert ProviderNotLeaving(minerId);
        uint256 amount = p.stake;
        if (amount == 0) revert NothingToWithdraw();
        uint256 until = _releaseEpoch(p);
        if (block.number < until) revert WindowsStillOpen(minerId, _u64(until));
        p.stake = 0;
        _totalStake -= amount;
        _balances[p.owner] += amount;
        _totalBalances += amount;
        emit CollateralReleased(minerId, p.owner, amount);
    }

    /// @inheritdoc IFilFil
    function withdraw() external {
        uint256 amount = _balances[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        _balances[msg.sender] = 0;
        _totalBalances -= amount;
        emit Withdrawn(msg.sender, amount);
        (bool ok,) = payable(msg.sender).call{value: amount}("");
        if (!ok) revert TransferFailed();
    }

    // ------------------------------------------------------------------ enforcement

    /// @inheritdoc IFilFil
    function recordMiss(uint64 slot, uint256 seat) external {
        if (_slots[slot].pieceCount == 0) revert SlotNotStaged(slot);
        uint256 windowEnd = _epochOf(slot) + _schedule.readyDelay + _schedule.claimWindow;
        if (block.number < windowEnd) revert WindowNotClosed(slot, _u64(windowEnd));
        (uint256 ei, Era memory e) = _eraOf(slot);
        if (seat >= e.r) revert SeatOutOfRange(slot, seat);
        uint64 minerId = _holderOf(slot, seat, ei, e);
        if (minerId == 0) revert SeatVacant(slot, seat);
        SeatState storage s = _seats[slot][seat];
        if (s.fulfilled) revert SeatAlreadyFulfilled(slot, seat);
        if (s.missed) revert MissAlreadyRecorded(slot, seat);
        s.missed = true;
        Provider storage p = _providers[minerId];
        uint32 misses = ++p.misses;
        emit MissRecorded(slot, seat, minerId, misses);
        _maybeDeregister(minerId, p);
    }

    /// @inheritdoc IFilFil
    function reportTermination(uint64 dealId) external {
        DealRecord storage d = _deals[dealId];
        if (d.minerId == 0) revert UnknownDeal(dealId);
        if (d.terminationReported) revert TerminationAlreadyReported(dealId);
        (int256 exitCode,, bytes memory ret) = FVMActor.call(
            FVMActor.MARKET_ACTOR_ID,
            FVMActor.MARKET_GET_DEAL_ACTIVATION,
            0,
            FVMActor.FLAG_READ_ONLY,
            FilCbor.encodeUint(dealId)
        );
        bool terminated;
        if (exitCode == 0) {
            (, int64 terminatedAt, bool ok) = FilCbor.decodeDealActivation(ret);
            if (!ok) revert MalformedParams();
            terminated = terminatedAt >= 0;
        } else if (exitCode == FVMActor.EX_DEAL_EXPIRED) {
            // removed from market state: since FIP-0074 a terminated deal is cleaned up at once, so
            // removal before the deal's end epoch means it was terminated early
            terminated = int256(block.number) < int256(d.endEpoch);
        } else {
            revert MarketCallFailed(exitCode);
        }
        if (!terminated) revert DealNotTerminated(dealId);
        d.terminationReported = true;

        uint64 minerId = d.minerId;
        Provider storage p = _providers[minerId];
        uint256 penalty = _params.collateral / _params.maxMisses;
        if (penalty > p.stake) penalty = p.stake;
        p.stake -= penalty;
        _totalStake -= penalty;
        _rewardPool += penalty;
        ++p.misses;
        emit TerminationReported(dealId, minerId, penalty);
        _maybeDeregister(minerId, p);
    }

    // ------------------------------------------------------------------ funding

    /// @inheritdoc IFilFil
    function fundEscrow() external payable {
        if (msg.value == 0) revert ZeroValue();
        // AddBalanceParams is a transparent Address: our f410 address as a CBOR byte string
        (int256 exitCode,,) = FVMActor.call(
            FVMActor.MARKET_ACTOR_ID,
            FVMActor.MARKET_ADD_BALANCE,
            msg.value,
            FVMActor.FLAG_NONE,
            FilCbor.encodeBytes(FilCbor.filAddress(address(this)))
        );
        if (exitCode != 0) revert MarketCallFailed(exitCode);
        emit EscrowFunded(msg.sender, msg.value);
    }

    /// @inheritdoc IFilFil
    function fundRewards() external payable {
        if (msg.value == 0) revert ZeroValue();
        _rewardPool += msg.value;
        emit RewardsFunded(msg.sender, msg.value);
    }

    // ------------------------------------------------------------------ native actor entry point

    /// @inheritdoc IFilFil
    function handle_filecoin_method(uint64 method, uint64 codec, bytes calldata rawParams)
        external
        returns (uint32 exitCode, uint64 retCodec, bytes memory data)
    {
        if (method == FVMActor.AUTHENTICATE_MESSAGE) {
            _checkCodec(codec);
            _authenticateMessage(rawParams);
            // AuthenticateMessage returns a CBOR bool
            return (0, FVMActor.CODEC_CBOR, hex"f5");
        }
        if (method == FVMActor.MARKET_NOTIFY_DEAL) {
            _checkCodec(codec);
            _marketNotifyDeal(rawParams);
            return (0, FVMActor.CODEC_NONE, "");
        }
        if (method == FVMActor.SECTOR_CONTENT_CHANGED) {
            _checkCodec(codec);
            return (0, FVMActor.CODEC_CBOR, _sectorContentChanged(rawParams));
        }
        revert UnsupportedMethod(method);
    }

    /// @dev Read-only: no SSTORE, no event. The market sends AuthenticateMessage with
    ///      SendFlags::READ_ONLY (builtin-actors actors/market/src/lib.rs, publish_storage_deals) and
    ///      expects a CBOR bool back.
    function _authenticateMessage(bytes calldata rawParams) internal view {
        if (msg.sender != FVMActor.MARKET_ACTOR) revert NotMarketActor(msg.sender);
        (FilCbor.Proposal memory p, bool ok) = FilCbor.decodeAuthenticateMessage(rawParams);
        if (!ok) revert MalformedProposal();
        Eval memory ev = _evaluate(p);
        if (ev.check != Check.Ok) _revertCheck(ev, p);
    }

    /// @dev Never reverts for a deal it does not recognise (that would abort the SP's whole batch).
    function _marketNotifyDeal(bytes calldata rawParams) internal {
        if (msg.sender != FVMActor.MARKET_ACTOR) revert NotMarketActor(msg.sender);
        (FilCbor.Proposal memory p, uint64 dealId, bool ok) = FilCbor.decodeMarketNotifyDeal(rawParams);
        if (!ok || _deals[dealId].minerId != 0) return;
        Eval memory ev = _evaluate(p);
        if (ev.check != Check.Ok) return;
        _deals[dealId] = DealRecord({
            slot: ev.slot,
            seat: uint16(ev.seat),
            pieceIndex: uint16(ev.pieceIndex),
            minerId: p.providerId,
            endEpoch: p.endEpoch,
            terminationReported: false
        });
        _seatPieces[ev.slot][ev.seat][ev.pieceIndex] = RECORDED | dealId;
        emit DealRecorded(ev.slot, ev.seat, ev.pieceIndex, p.providerId, dealId);
        _progress(ev.slot, ev.seat, p.providerId);
    }

    /// @dev FIP-0109 notification from a miner actor (DDO). Returns Vec<Vec<bool>> as CBOR.
    function _sectorContentChanged(bytes calldata rawParams) internal returns (bytes memory out) {
        (bool masked, uint64 minerId) = FilCbor.maskedId(msg.sender);
        if (!masked) revert NotMinerActor(msg.sender);
        if (_providers[minerId].status == ProviderStatus.None) revert ProviderNotRegistered(minerId);

        FilCbor.Reader memory r = FilCbor.reader(rawParams);
        // every piece takes at least 45 input bytes and 1 output byte: the input length bounds the output
        out = new bytes(rawParams.length + 9);
        uint256 w;
        uint64 sectors = r.readArrayLen();
        w = _writeHeader(out, w, 4, sectors);
        for (uint256 s; s < sectors && !r.err; ++s) {
            if (r.readArrayLen() != 3) r.err = true;
            uint64 sector = r.readUint();
            int64 minCommitment = r.readInt64();
            uint64 count = r.readArrayLen();
            w = _writeHeader(out, w, 4, count);
            for (uint256 i; i < count && !r.err; ++i) {
                if (r.readArrayLen() != 3) r.err = true;
                bytes32 digest = r.readPieceCid();
                uint64 size = r.readUint();
                r.readBytesRange(); // payload: receiver-specific, unused
                bool accepted = !r.err && _acceptActivation(minerId, digest, size, minCommitment, sector);
                out[w++] = accepted ? bytes1(0xf5) : bytes1(0xf4);
            }
        }
        if (r.err || r.pos != r.end) revert MalformedParams();
        assembly ("memory-safe") {
            mstore(out, w)
        }
    }

    function _acceptActivation(uint64 minerId, bytes32 digest, uint64 size, int64 minCommitment, uint64 sector)
        internal
        returns (bool)
    {
        uint256 loc = _pieceLocation[digest];
        if (loc == 0) return false;
        (uint64 slot, uint256 index) = (uint64((loc - 1) >> 16), (loc - 1) & 0xffff);
        (bool holds, uint256 seat) = _seatOf(slot, minerId);
        if (!holds || _seatPieces[slot][seat][index] != 0) return false;
        (uint256 ws, uint256 we) = _window(slot);
        if (block.number < ws || block.number >= we) return false;
        if (_pieces[slot][index].size != size) return false;
        // the sector must commit to the data at least as long as the shortest acceptable deal
        if (int256(minCommitment) < int256(block.number) + int256(uint256(_params.policy.minDuration))) return false;
        _seatPieces[slot][seat][index] = RECORDED | RECORDED_DDO;
        emit PieceActivated(slot, seat, index, minerId, sector);
        _progress(slot, seat, minerId);
        return true;
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IFilFil
    function slotOf(uint256 epoch) external view returns (uint64) {
        if (epoch < _schedule.startEpoch) revert EpochBeforeStart(epoch, _schedule.startEpoch);
        return _u64((epoch - _schedule.startEpoch) / _schedule.snapshotInterval);
    }

    /// @inheritdoc IFilFil
    function seatsOf(uint64 slot) public view returns (uint64[] memory seats) {
        (uint256 ei, Era memory e) = _eraOf(slot);
        seats = new uint64[](e.r);
        for (uint256 i; i < e.r; ++i) {
            seats[i] = _holderOf(slot, i, ei, e);
        }
    }

    /// @inheritdoc IFilFil
    function snapshot(uint64 slot) external view returns (SnapshotInfo memory info) {
        SlotData storage sd = _slots[slot];
        uint256 epoch = _epochOf(slot);
        (uint256 ws, uint256 we) = _window(slot);
        info.slot = slot;
        info.epoch = _u64(epoch);
        info.windowStart = _u64(ws);
        info.windowEnd = _u64(we);
        uint256 count = sd.pieceCount;
        info.pieces = new bytes32[](count);
        info.sizes = new uint64[](count);
        for (uint256 i; i < count; ++i) {
            Piece storage pc = _pieces[slot][i];
            info.pieces[i] = pc.digest;
            info.sizes[i] = pc.size;
        }
        bytes32 key = count != 0 ? sd.stagedProposal : sd.lastProposal;
        info.approvals = key == bytes32(0) ? 0 : _approvalCount[key];
        info.seats = seatsOf(slot);
        info.dealsPerSeat = new uint256[](info.seats.length);
        info.fulfilled = new bool[](info.seats.length);
        for (uint256 s; s < info.seats.length; ++s) {
            info.dealsPerSeat[s] = _seats[slot][s].done;
            info.fulfilled[s] = _seats[slot][s].fulfilled;
        }
        if (count == 0) info.status = block.number >= we ? SlotStatus.Skipped : SlotStatus.Unstaged;
        else if (block.number < ws) info.status = SlotStatus.Staged;
        else if (block.number < we) info.status = SlotStatus.Open;
        else info.status = SlotStatus.Closed;
    }

    /// @inheritdoc IFilFil
    function nextWindow(uint64 minerId)
        external
        view
        returns (uint64 slot, uint64 epoch, uint64 windowStart, uint64 windowEnd)
    {
        Schedule memory sc = _schedule;
        // first slot whose window has not closed: start + k*I + readyDelay + claimWindow > now
        uint256 lag = uint256(sc.startEpoch) + sc.readyDelay + sc.claimWindow;
        uint256 k0 = block.number < lag ? 0 : (block.number - lag) / sc.snapshotInterval + 1;
        (uint256 ei,) = _eraOf(k0);
        for (; ei < _eras.length; ++ei) {
            (bool found, uint256 k) = _firstSeatIn(ei, minerId, k0);
            if (found) {
                (uint256 ws, uint256 we) = _window(k);
                return (_u64(k), _u64(_epochOf(k)), _u64(ws), _u64(we));
            }
        }
        revert NoUpcomingWindow(minerId);
    }

    /// @inheritdoc IFilFil
    function providers() external view returns (ProviderInfo[] memory out) {
        out = new ProviderInfo[](_allMiners.length);
        for (uint256 i; i < out.length; ++i) {
            out[i] = provider(_allMiners[i]);
        }
    }

    /// @inheritdoc IFilFil
    function provider(uint64 minerId) public view returns (ProviderInfo memory) {
        Provider storage p = _providers[minerId];
        return ProviderInfo({
            minerId: minerId,
            owner: p.owner,
            payout: p.payout,
            stake: p.stake,
            status: p.status,
            joinSlot: p.joinSlot,
            leaveSlot: p.leaveSlot,
            misses: p.misses
        });
    }

    /// @inheritdoc IFilFil
    function activeProviders(uint64 slot) external view returns (uint64[] memory list) {
        (uint256 ei, Era memory e) = _eraOf(slot);
        list = new uint64[](e.n);
        for (uint256 i; i < e.n; ++i) {
            list[i] = uint64(_getAt(_posHistory[i], ei));
        }
    }

    /// @inheritdoc IFilFil
    function dealOf(uint64 slot, uint256 seat, uint256 pieceIndex)
        external
        view
        returns (bool recorded, bool ddo, uint64 dealId)
    {
        uint256 v = _seatPieces[slot][seat][pieceIndex];
        return (v & RECORDED != 0, v & RECORDED_DDO != 0, uint64(v));
    }

    /// @inheritdoc IFilFil
    function deal(uint64 dealId) external view returns (DealRecord memory) {
        return _deals[dealId];
    }

    /// @inheritdoc IFilFil
    function operators() external view returns (address[] memory ops, uint256 threshold) {
        return (_operators, _threshold);
    }

    /// @inheritdoc IFilFil
    function approvals(bytes32 proposal) external view returns (uint256) {
        return _approvalCount[proposal];
    }

    /// @inheritdoc IFilFil
    function schedule() external view returns (Schedule memory) {
        return _schedule;
    }

    /// @inheritdoc IFilFil
    function params() external view returns (Params memory) {
        return _params;
    }

    /// @inheritdoc IFilFil
    function balanceOf(address account) external view returns (uint256) {
        return _balances[account];
    }

    /// @inheritdoc IFilFil
    function totals() external view returns (uint256 rewardPool, uint256 totalStake, uint256 totalBalances) {
        return (_rewardPool, _totalStake, _totalBalances);
    }

    /// @dev First slot >= `from` inside era `ei` where `minerId` holds a seat (O(r), no loop over SPs).
    function _firstSeatIn(uint256 ei, uint64 minerId, uint256 from) internal view returns (bool, uint256) {
        Era memory e = _eras[ei];
        if (from < e.startSlot) from = e.startSlot;
        uint256 limit = ei + 1 < _eras.length ? _eras[ei + 1].startSlot : type(uint256).max;
        uint256 rr = e.r < e.n ? e.r : e.n;
        uint256 p1 = _getAt(_minerHistory[minerId], ei);
        if (from >= limit || rr == 0 || p1 == 0) return (false, 0);
        uint256 n = e.n;
        uint256 j0 = (from - e.startSlot) % n;
        uint256 best = n;
        for (uint256 i; i < rr; ++i) {
            // position p holds seat i at relative slot j = p - i (mod n)
            uint256 d = ((p1 - 1) + 2 * n - i - j0) % n;
            if (d < best) best = d;
        }
        uint256 k = from + best;
        return (k < limit, k);
    }

    // ------------------------------------------------------------------ internals: deals

    /// @dev All AuthenticateMessage checks, in order; O(log eras + log history), no loop over SPs.
    function _evaluate(FilCbor.Proposal memory p) internal view returns (Eval memory ev) {
        uint256 loc = _pieceLocation[p.piece];
        if (loc == 0) {
            ev.check = Check.PieceNotStaged;
            return ev;
        }
        ev.slot = uint64((loc - 1) >> 16);
        ev.pieceIndex = (loc - 1) & 0xffff;
        if (!p.providerIsId) {
            ev.check = Check.ProviderNotId;
            return ev;
        }
        bool holds;
        (holds, ev.seat) = _seatOf(ev.slot, p.providerId);
        if (!holds) {
            ev.check = Check.NotSeatHolder;
            return ev;
        }
        if (_seatPieces[ev.slot][ev.seat][ev.pieceIndex] != 0) {
            ev.check = Check.AlreadyDealt;
            return ev;
        }
        (uint256 ws, uint256 we) = _window(ev.slot);
        if (block.number < ws || block.number >= we) {
            ev.check = Check.OutsideWindow;
            return ev;
        }
        ev.stagedSize = _pieces[ev.slot][ev.pieceIndex].size;
        if (p.pieceSize != ev.stagedSize) {
            ev.check = Check.SizeMismatch;
            return ev;
        }
        if (p.verified) {
            ev.check = Check.Verified;
            return ev;
        }
        DealPolicy memory pol = _params.policy;
        if (int256(p.startEpoch) > int256(block.number + pol.maxStartDelay)) {
            ev.check = Check.StartTooLate;
            return ev;
        }
        int256 duration = int256(p.endEpoch) - int256(p.startEpoch);
        if (duration < int256(uint256(pol.minDuration)) || duration > int256(uint256(pol.maxDuration))) {
            ev.check = Check.Duration;
            return ev;
        }
        // price per epoch per GiB <= max  <=>  price * 2^30 <= max * size (max < 2^128, size < 2^64)
        if (p.pricePerEpoch >= 1 << 192 || p.pricePerEpoch * GIB > pol.maxPricePerEpochPerGiB * p.pieceSize) {
            ev.check = Check.Price;
            return ev;
        }
        if (p.clientCollateral != 0) {
            ev.check = Check.ClientCollateral;
            return ev;
        }
        if (p.providerCollateral < pol.minProviderCollateral) {
            ev.check = Check.ProviderCollateral;
            return ev;
        }
    }

    function _revertCheck(Eval memory ev, FilCbor.Proposal memory p) internal view {
        Check c = ev.check;
        if (c == Check.PieceNotStaged) revert PieceNotStaged(p.piece);
        if (c == Check.ProviderNotId) revert ProviderNotIdAddress();
        if (c == Check.NotSeatHolder) revert NotSeatHolder(ev.slot, p.providerId);
        if (c == Check.AlreadyDealt) revert PieceAlreadyDealt(ev.slot, ev.seat, ev.pieceIndex);
        if (c == Check.OutsideWindow) {
            (uint256 ws, uint256 we) = _window(ev.slot);
            revert OutsideWindow(ev.slot, block.number, _u64(ws), _u64(we));
        }
        if (c == Check.SizeMismatch) revert PieceSizeMismatch(ev.stagedSize, p.pieceSize);
        if (c == Check.Verified) revert VerifiedDealNotAllowed();
        DealPolicy memory pol = _params.policy;
        if (c == Check.StartTooLate) revert DealStartTooLate(p.startEpoch, block.number + pol.maxStartDelay);
        if (c == Check.Duration) {
            revert DealDurationOutOfRange(p.endEpoch - p.startEpoch, pol.minDuration, pol.maxDuration);
        }
        if (c == Check.Price) revert PriceTooHigh(p.pricePerEpoch, pol.maxPricePerEpochPerGiB * p.pieceSize / GIB);
        if (c == Check.ClientCollateral) revert ClientCollateralNotZero(p.clientCollateral);
        revert ProviderCollateralTooLow(p.providerCollateral, pol.minProviderCollateral);
    }

    /// @dev One more piece of a seat recorded; on the last one the seat is fulfilled.
    function _progress(uint64 slot, uint256 seat, uint64 minerId) internal {
        SeatState storage s = _seats[slot][seat];
        uint16 done = ++s.done;
        if (done != _slots[slot].pieceCount) return;
        s.fulfilled = true;
        Provider storage p = _providers[minerId];
        p.misses = 0;
        uint256 reward = _params.rewardPerSeat;
        if (reward > _rewardPool) reward = _rewardPool;
        if (reward != 0) {
            _rewardPool -= reward;
            _balances[p.payout] += reward;
            _totalBalances += reward;
        }
        emit SeatFulfilled(slot, seat, minerId, reward);
    }

    function _maybeDeregister(uint64 minerId, Provider storage p) internal {
        if (p.misses < _params.maxMisses) return;
        if (p.status != ProviderStatus.Registered && p.status != ProviderStatus.Left) return;
        uint256 forfeited = p.stake;
        p.stake = 0;
        _totalStake -= forfeited;
        _rewardPool += forfeited;
        if (p.status == ProviderStatus.Registered) {
            uint256 ei = _nextEra();
            _listRemove(ei, minerId);
            p.leaveSlot = _eras[ei].startSlot;
            _emitEra(ei);
        }
        p.status = ProviderStatus.Deregistered;
        emit ProviderDeregistered(minerId, forfeited, p.leaveSlot);
    }

    function _checkController(uint64 minerId) internal {
        // an EVM contract could answer IsControllingAddress with `true` for anyone: miner actors
        // have no delegated address, EVM actors always do
        if (FVMActor.hasDelegatedAddress(minerId)) revert NotAStorageMiner(minerId);
        // IsControllingAddressParam is a transparent Address (CBOR byte string); the return is a
        // transparent bool (builtin-actors actors/miner/src/types.rs)
        (int256 exitCode,, bytes memory ret) = FVMActor.call(
            minerId,
            FVMActor.MINER_IS_CONTROLLING_ADDRESS,
            0,
            FVMActor.FLAG_READ_ONLY,
            FilCbor.encodeBytes(FilCbor.filAddress(msg.sender))
        );
        if (exitCode != 0) revert MinerCallFailed(minerId, exitCode);
        (bool controls, bool ok) = FilCbor.decodeBool(ret);
        if (!ok || !controls) revert NotControllingAddress(minerId, msg.sender);
    }

    function _checkCodec(uint64 codec) internal pure {
        if (codec != FVMActor.CODEC_CBOR && codec != FVMActor.CODEC_DAG_CBOR) revert UnsupportedCodec(codec);
    }

    // ------------------------------------------------------------------ internals: schedule

    function _epochOf(uint256 slot) internal view returns (uint256) {
        return uint256(_schedule.startEpoch) + slot * _schedule.snapshotInterval;
    }

    function _window(uint256 slot) internal view returns (uint256 start, uint256 end) {
        start = _epochOf(slot) + _schedule.readyDelay;
        end = start + _schedule.claimWindow;
    }

    /// @dev Number of slots whose snapshot epoch has been reached (slot k has started iff k < this).
    function _startedSlots() internal view returns (uint256) {
        uint64 start = _schedule.startEpoch;
        if (block.number < start) return 0;
        return (block.number - start) / _schedule.snapshotInterval + 1;
    }

    /// @dev Last epoch at which a left SP may still hold an open window.
    function _releaseEpoch(Provider storage p) internal view returns (uint256) {
        if (p.leaveSlot <= p.joinSlot) return 0; // left before its first round started
        (, uint256 we) = _window(uint256(p.leaveSlot) - 1);
        return we;
    }

    /// @dev The era that pending changes go into: the latest era if it has not started yet, else a
    ///      new era starting at the first round boundary after the current slot.
    function _nextEra() internal returns (uint256) {
        uint256 last = _eras.length - 1;
        Era memory e = _eras[last];
        uint256 started = _startedSlots();
        if (e.startSlot >= started) return last;
        uint256 len = e.n == 0 ? 1 : e.n;
        uint256 current = started - 1;
        uint256 boundary = e.startSlot + ((current - e.startSlot) / len + 1) * len;
        _eras.push(Era({startSlot: _u64(boundary), n: e.n, r: _params.replication}));
        return last + 1;
    }

    function _emitEra(uint256 ei) internal {
        Era memory e = _eras[ei];
        emit RoundsScheduled(ei, e.startSlot, e.n, e.r);
    }

    /// @dev Era containing `slot` (binary search; the common case is the last one).
    function _eraOf(uint256 slot) internal view returns (uint256 ei, Era memory e) {
        uint256 hi = _eras.length;
        if (_eras[hi - 1].startSlot <= slot) return (hi - 1, _eras[hi - 1]);
        uint256 lo;
        // invariant: eras[lo].startSlot <= slot < eras[hi].startSlot
        while (hi - lo > 1) {
            uint256 mid = (lo + hi) / 2;
            if (_eras[mid].startSlot <= slot) lo = mid;
            else hi = mid;
        }
        return (lo, _eras[lo]);
    }

    function _holderOf(uint256 slot, uint256 seat, uint256 ei, Era memory e) internal view returns (uint64) {
        uint256 rr = e.r < e.n ? e.r : e.n;
        if (seat >= rr) return 0;
        uint256 j = (slot - e.startSlot) % e.n;
        return uint64(_getAt(_posHistory[(j + seat) % e.n], ei));
    }

    function _seatOf(uint64 slot, uint64 minerId) internal view returns (bool, uint256) {
        (uint256 ei, Era memory e) = _eraOf(slot);
        uint256 rr = e.r < e.n ? e.r : e.n;
        if (rr == 0) return (false, 0);
        uint256 p1 = _getAt(_minerHistory[minerId], ei);
        if (p1 == 0) return (false, 0);
        uint256 n = e.n;
        uint256 seat = ((p1 - 1) + n - (slot - e.startSlot) % n) % n;
        return (seat < rr, seat);
    }

    function _listAppend(uint256 ei, uint64 minerId) internal {
        Era storage e = _eras[ei];
        uint256 pos = e.n;
        _setAt(_posHistory[pos], ei, minerId);
        _setAt(_minerHistory[minerId], ei, pos + 1);
        e.n = uint32(pos + 1);
    }

    /// @dev Swap-remove: the last SP of the list takes the leaver's position.
    function _listRemove(uint256 ei, uint64 minerId) internal {
        Era storage e = _eras[ei];
        uint256 pos = _getAt(_minerHistory[minerId], ei) - 1;
        uint256 last = e.n - 1;
        if (pos != last) {
            uint64 moved = uint64(_getAt(_posHistory[last], ei));
            _setAt(_posHistory[pos], ei, moved);
            _setAt(_minerHistory[moved], ei, pos + 1);
        }
        _setAt(_minerHistory[minerId], ei, 0);
        e.n = uint32(last);
    }

    function _setAt(uint256[] storage h, uint256 ei, uint256 value) internal {
        uint256 packed = (ei << 64) | value;
        uint256 len = h.length;
        if (len != 0 && (h[len - 1] >> 64) == ei) h[len - 1] = packed;
        else h.push(packed);
    }

    /// @dev Value of a versioned history at era `ei` (latest entry with era <= ei), 0 if none.
    function _getAt(uint256[] storage h, uint256 ei) internal view returns (uint256) {
        uint256 hi = h.length;
        if (hi == 0) return 0;
        uint256 last = h[hi - 1];
        if ((last >> 64) <= ei) return uint64(last);
        uint256 lo;
        // find the first entry with era > ei in [lo, hi)
        while (lo < hi) {
            uint256 mid = (lo + hi) / 2;
            if ((h[mid] >> 64) <= ei) lo = mid + 1;
            else hi = mid;
        }
        return lo == 0 ? 0 : uint64(h[lo - 1]);
    }

    // ------------------------------------------------------------------ internals: operators

    function _onlyOperator() internal view {
        if (!_isOperator[_generation][msg.sender]) revert NotOperator(msg.sender);
    }

    function _approve(bytes32 key) internal returns (uint256) {
        if (_approved[key][msg.sender]) revert AlreadyApproved(key, msg.sender);
        _approved[key][msg.sender] = true;
        return ++_approvalCount[key];
    }

    function _setOperators(address[] memory ops, uint256 threshold_) internal {
        uint256 gen = ++_generation;
        for (uint256 i; i < ops.length; ++i) {
            _isOperator[gen][ops[i]] = true;
        }
        _operators = ops;
        _threshold = threshold_;
        emit OperatorsChanged(ops, threshold_, gen);
    }

    function _validateOperators(address[] memory ops, uint256 threshold_) internal pure {
        uint256 n = ops.length;
        if (n < 2 || n > MAX_OPERATORS) revert InvalidOperators();
        if (threshold_ < 2 || threshold_ > n) revert InvalidThreshold(threshold_, n);
        for (uint256 i; i < n; ++i) {
            if (ops[i] == address(0)) revert InvalidOperators();
            for (uint256 j; j < i; ++j) {
                if (ops[i] == ops[j]) revert InvalidOperators();
            }
        }
    }

    function _validateParams(Params memory p) internal pure {
        if (p.replication == 0 || p.replication > MAX_REPLICATION) revert InvalidReplication();
        if (p.maxMisses == 0) revert InvalidMaxMisses();
        if (p.maxProviders == 0) revert InvalidMaxProviders();
        DealPolicy memory pol = p.policy;
        if (
            pol.minDuration < MARKET_MIN_DURATION || pol.maxDuration > MARKET_MAX_DURATION
                || pol.minDuration > pol.maxDuration || pol.maxPricePerEpochPerGiB > type(uint128).max
        ) revert InvalidDealPolicy();
    }

    function _writeHeader(bytes memory out, uint256 w, uint8 major, uint64 arg) internal pure returns (uint256) {
        bytes memory h = FilCbor.encodeHeader(major, arg);
        for (uint256 i; i < h.length; ++i) {
            out[w + i] = h[i];
        }
        return w + h.length;
    }

    function _u64(uint256 v) internal pure returns (uint64) {
        return v > type(uint64).max ? type(uint64).max : uint64(v);
    }
}
