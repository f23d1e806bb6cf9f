namespace MMEureka.Torch;

/// <summary>
/// One recorded operation: the tensors it read (its parents in the graph) and a closure that maps the gradient
/// of its result to gradients of those parents (null where a parent needs none).
/// </summary>
internal sealed class Node(string name, Tensor[] inputs, Func<Tensor, Tensor?[]> backward, float[][]? scratch)
{
    public readonly string Name = name;
    public Tensor[]? Inputs = inputs;
    public Func<Tensor, Tensor?[]>? Backward = backward;

    /// <summary>Buffers that only <see cref="Backward"/> reads (never part of a tensor a caller can see).</summary>
    private float[][]? _scratch = scratch;

    /// <summary>Drops the saved tensors so that a finished step does not keep activations alive; the private
    /// buffers go back to <see cref="Buffers"/>, since the closure that held them is gone.</summary>
    public void Release()
    {
        Inputs = null;
        Backward = null;
        if (_scratch != null)
            foreach (var buffer in _scratch) Buffers.Return(buffer);
        _scratch = null;
    }
}

/// <summary>Reverse-mode automatic differentiation: recording (tape as a DAG of <see cref="Node"/>s) and backward.</summary>
internal static class Autograd
{
    [ThreadStatic] private static int _noGradDepth;
    [ThreadStatic] private static bool _inBackward;

    /// <summary>False inside <c>torch.no_grad()</c> on this thread.</summary>
    public static bool Enabled => _noGradDepth == 0;

    public static IDisposable NoGrad()
    {
        _noGradDepth++;
        return new Restore(Environment.CurrentManagedThreadId, _noGradDepth - 1);
    }

    // Grad mode is per thread: restoring on another thread (an await inside the scope) would corrupt that thread's
    // depth, so it is refused; restoring sets the saved depth rather than decrementing, so one stray Dispose cannot
    // leave a thread stuck in no-grad mode.
    private sealed class Restore(int threadId, int depth) : IDisposable
    {
        private bool _done;
        public void Dispose()
        {
            if (_done) return;
            if (Environment.CurrentManagedThreadId != threadId)
                throw new InvalidOperationException("torch.no_grad() scope disposed on another thread than it was opened on (an await inside the scope?); grad mode is per thread");
            _done = true;
            _noGradDepth = depth;
        }
    }

    /// <summary>Attaches a node to <paramref name="result"/> when grad mode is on and any input requires grad.
    /// <paramref name="scratch"/>: buffers from <see cref="Buffers"/> that only <paramref name="backward"/> uses; they
    /// are recycled once the backward has run and freed the node (and left to the GC otherwise).</summary>
    public static Tensor Record(Tensor result, string name, Tensor[] inputs, Func<Tensor, Tensor?[]> backward, float[][]? scratch = null)
    {
        if (Profiler.Enabled && !_inBackward) Profiler.Charge(Profiler.OpName(name) + " forward");
        if (!Enabled) return result;
        bool any = false;
        foreach (var t in inputs) any |= t.requires_grad;
        if (!any) return result;
        result.Node = new Node(name, inputs, backward, scratch);
        result.requires_grad = true;
        return result;
    }

    public static void Backward(Tensor root, Tensor? gradient, bool retainGraph)
    {
        if (!root.requires_grad)
            throw new InvalidOperationException("backward(): the tensor does not require grad and has no grad_fn");
        if (gradient == null)
        {
            if (root.Numel != 1) throw new InvalidOperationException($"backward() without a gradient needs a one-element tensor, got shape {Tensor.ShapeString(root.Sizes)}");
            gradient = new Tensor([1f], (int[])root.Sizes.Clone());
        }
        else if (!gradient.SameShape(root))
            throw new ArgumentException($"backward(): gradient shape {Tensor.ShapeString(gradient.Sizes)} does not match tensor shape {Tensor.ShapeString(root.Sizes)}");

        long backwardStart = Profiler.Enabled ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
        double inNodes = 0;
        var order = TopologicalOrder(root);
        var grads = new Dictionary<Tensor, Tensor>(ReferenceEqualityComparer.Instance) { [root] = gradient };
        using var _ = NoGrad();
        _inBackward = true;
        var made = Buffers.BeginBackward();
        try
        {
            RunBackward(order, grads, retainGraph, made, ref inNodes);
        }
        finally
        {
            _inBackward = false;
            Buffers.EndBackward();
        }
        if (!retainGraph) CollectIfDue();
        if (Profiler.Enabled)
        {
            Profiler.Add("backward glue", System.Diagnostics.Stopwatch.GetElapsedTime(backwardStart).TotalSeconds - inNodes);
            Profiler.Mark();
        }
    }

    private static long _allocatedAtLastCollect;

    /// <summary>
    /// After a backward that freed its graph, the step's activations are garbage (gradients and private buffers go
    /// back to <see cref="Buffers"/>, but forward outputs may still be held by the caller, so only the GC can tell);
    /// left alone, the GC lets large-object garbage pile up for several steps. Measured on the training benchmark
    /// (144 MB allocated per step): peak working set 380 MB with this collection, 650 MB without. A full collection
    /// here is cheap (about 2.5 ms: the heap is a few thousand objects, mostly float arrays that need no scanning)
    /// once enough was allocated since the last one.
    /// </summary>
    private static void CollectIfDue()
    {
        long threshold = torch.gc_after_backward_mb;
        if (threshold <= 0) return;
        long allocated = GC.GetTotalAllocatedBytes();
        if (allocated - _allocatedAtLastCollect < threshold << 20) return;
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: false);
        _allocatedAtLastCollect = GC.GetTotalAllocatedBytes();
    }

    private static void RunBackward(List<Tensor> order, Dictionary<Tensor, Tensor> grads, bool retainGraph, HashSet<float[]> made, ref double inNodes)
    {
        // How many pending gradients (values of grads) use each storage array. A gradient array that this pass
        // allocated (made) is recycled when its count drops to zero after its consumer ran: gradients are never
        // saved by the nodes, and a leaf's .grad is a copy or is accumulated into, so nothing else can reach it.
        var uses = new Dictionary<float[], int>(ReferenceEqualityComparer.Instance);
        void Use(Tensor g) => uses[g.Storage] = uses.GetValueOrDefault(g.Storage) + 1;
        void Release(Tensor g)
        {
            int left = uses[g.Storage] - 1;
            if (left > 0)
            {
                uses[g.Storage] = left;
                return;
            }
            uses.Remove(g.Storage);
            Recycle(g.Storage);
        }
        void Recycle(float[] storage)
        {
            if (uses.ContainsKey(storage)) return; // another pending gradient still uses it
            bool ours;
            lock (made) ours = made.Remove(storage); // Remove succeeds once: no array is returned twice
            if (ours) Buffers.Return(storage);
        }
        foreach (var g in grads.Values) Use(g);

        foreach (var t in order)
        {
            if (!grads.Remove(t, out var g)) continue;
            var node = t.Node;
            if (node == null)
            {
                // A leaf: accumulate (into a private copy, since g may be shared with other branches).
                if (t.grad == null) t.grad = new Tensor(g.ToArray(), (int[])t.Sizes.Clone());
                else t.grad.add_(g);
                Release(g);
                continue;
            }
            if (node.Backward == null || node.Inputs == null)
                throw new InvalidOperationException($"backward() through {node.Name} a second time: its saved tensors were freed; pass retain_graph: true to the first backward()");
            var inputs = node.Inputs;
            long started = Profiler.Enabled ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
            var inputGrads = node.Backward(g);
            List<float[]>? dropped = null;
            for (int i = 0; i < inputs.Length; i++)
            {
                var gi = inputGrads[i];
                var x = inputs[i];
                if (gi == null) continue;
                if (!x.requires_grad)
                {
                    (dropped ??= []).Add(gi.Storage);
                    continue;
                }
                if (!gi.SameShape(x))
                    throw new InvalidOperationException($"{node.Name} produced a gradient of shape {Tensor.ShapeString(gi.Sizes)} for an input of shape {Tensor.ShapeString(x.Sizes)}");
                if (grads.TryGetValue(x, out var prev))
                {
                    var sum = prev.add(gi);
                    Use(sum);
                    grads[x] = sum;
                    Release(prev);
                    (dropped ??= []).Add(gi.Storage);
                }
                else
                {
                    Use(gi);
                    grads[x] = gi;
                }
            }
            Release(g);
            if (dropped != null)
                foreach (var storage in dropped) Recycle(storage);
            if (!retainGraph) node.Release();
            if (Profiler.Enabled)
            {
                double seconds = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds;
                inNodes += seconds;
                Profiler.Add(Profiler.OpName(node.Name) + " backward", seconds);
            }
        }
    }

    /// <summary>Tensors reachable from the root, each after every tensor that consumes it (reverse post-order).</summary>
    private static List<Tensor> TopologicalOrder(Tensor root)
    {
        var visited = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var postOrder = new List<Tensor>();
        var stack = new Stack<(Tensor t, int next)>();
        stack.Push((root, 0));
        visited.Add(root);
        while (stack.Count > 0)
        {
            var (t, next) = stack.Pop();
            var inputs = t.Node?.Inputs;
            if (inputs != null && next < inputs.Length)
            {
                stack.Push((t, next + 1));
                var child = inputs[next];
                if (child.requires_grad && visited.Add(child)) stack.Push((child, 0));
            }
            else postOrder.Add(t);
        }
        postOrder.Reverse();
        return postOrder;
    }
}
