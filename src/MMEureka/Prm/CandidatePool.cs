namespace MMEureka.Prm;

/// <summary>
/// OmegaPRM's candidate pool: a max-heap of (state, wrong rollout) pairs by priority Q + U. Re-scoring a pair pushes a
/// new heap entry and makes the older one stale; a pop skips stale entries, so each pair comes out at its latest
/// priority. A popped pair is gone for good: it is removed from its state's remaining rollouts, so no re-scoring can
/// bring it back (OpenR's port re-adds popped rollouts, a known bug). Equal priorities pop in insertion order, so the
/// search is deterministic.
/// </summary>
public sealed class CandidatePool
{
    private readonly PriorityQueue<(SearchNode state, int rollout, long seq), (double priority, long seq)> _heap =
        new(Comparer<(double priority, long seq)>.Create((a, b) => a.priority != b.priority ? b.priority.CompareTo(a.priority) : a.seq.CompareTo(b.seq)));
    private readonly Dictionary<(SearchNode state, int rollout), long> _live = new();
    private long _seq;

    /// <summary>Pairs waiting to be searched.</summary>
    public int Count => _live.Count;

    /// <summary>True when no pair is left.</summary>
    public bool IsEmpty => _live.Count == 0;

    /// <summary>Sets the priority of (state, rollout), adding the pair when it is new. Refuses a popped pair.</summary>
    public void Update(SearchNode state, int rollout, double priority)
    {
        if (!state.Remaining.Contains(rollout))
            throw new InvalidOperationException($"rollout {rollout} of node {state.Id} was already searched; it cannot return to the pool");
        long seq = _seq++;
        _live[(state, rollout)] = seq;
        _heap.Enqueue((state, rollout, seq), (priority, seq));
    }

    /// <summary>Takes the pair of highest priority out of the pool for good, or returns false when it is empty.</summary>
    public bool TryPop(out SearchNode state, out int rollout)
    {
        while (_heap.TryDequeue(out var e, out _))
        {
            if (!_live.TryGetValue((e.state, e.rollout), out long seq) || seq != e.seq) continue; // stale
            _live.Remove((e.state, e.rollout));
            e.state.Remaining.Remove(e.rollout);
            (state, rollout) = (e.state, e.rollout);
            return true;
        }
        (state, rollout) = (null!, -1);
        return false;
    }
}
