namespace MMEureka.Prm;

/// <summary>
/// Gathers the rollout requests of many searches running side by side and answers them with one policy call.
/// Each search awaits its request; <see cref="Flush"/> completes all pending requests on the calling thread, which
/// runs every waiting search on to its next request (or to its end) before returning. Everything happens on one
/// thread in a fixed order, so the searches stay deterministic.
/// </summary>
public sealed class RolloutBatcher(IRolloutPolicy policy)
{
    private List<(RolloutRequest request, TaskCompletionSource<IReadOnlyList<string>> done)> _pending = [];

    /// <summary>Requests waiting for the next <see cref="Flush"/>.</summary>
    public int Pending => _pending.Count;

    /// <summary>Rollouts answered so far.</summary>
    public long Rollouts { get; private set; }

    /// <summary>Queues a request; the task completes at the next <see cref="Flush"/>.</summary>
    public Task<IReadOnlyList<string>> Request(RolloutRequest request)
    {
        var done = new TaskCompletionSource<IReadOnlyList<string>>();
        _pending.Add((request, done));
        return done.Task;
    }

    /// <summary>Answers every pending request with one call of the policy.</summary>
    public void Flush()
    {
        var batch = _pending;
        _pending = [];
        if (batch.Count == 0) return;
        var results = policy.Complete(batch.Select(b => b.request).ToList());
        if (results.Count != batch.Count) throw new InvalidOperationException($"the policy answered {results.Count} of {batch.Count} requests");
        for (int i = 0; i < batch.Count; i++)
        {
            if (results[i].Count != batch[i].request.Seeds.Count)
                throw new InvalidOperationException($"the policy returned {results[i].Count} rollouts for {batch[i].request.Seeds.Count} seeds");
            Rollouts += results[i].Count;
        }
        for (int i = 0; i < batch.Count; i++) batch[i].done.SetResult(results[i]); // runs the waiting search inline
    }

    /// <summary>Runs <paramref name="work"/> (each item started by <paramref name="start"/>, at most
    /// <paramref name="concurrency"/> at once) to completion, flushing requests in between; <paramref name="finished"/>
    /// sees each result as soon as it is ready, in a deterministic order. Once <paramref name="mayStart"/> says no, no
    /// new item starts and the ones under way finish.</summary>
    public void RunAll<T>(IReadOnlyList<int> work, int concurrency, Func<int, Task<T>> start, Action<int, T> finished, Func<bool>? mayStart = null)
    {
        var active = new List<(int item, Task<T> task)>();
        int next = 0;
        while (next < work.Count || active.Count > 0)
        {
            if (mayStart != null && !mayStart()) next = work.Count;
            while (active.Count < concurrency && next < work.Count)
            {
                int item = work[next++];
                active.Add((item, start(item)));
            }
            Flush();
            for (int i = 0; i < active.Count; i++)
            {
                var (item, task) = active[i];
                if (!task.IsCompleted) continue;
                finished(item, task.GetAwaiter().GetResult()); // rethrows a search's exception as it is
                active.RemoveAt(i--);
            }
            if (Pending == 0 && active.Any(a => !a.task.IsCompleted))
                throw new InvalidOperationException("a search is waiting on something other than rollouts");
        }
    }
}
