"""Correct answers of lab 4 written differently from the solution."""

from . import Right

RIGHT = [
    Right("wachter", "wachter-scaled-coordinates-where", '''
def wachter_counterfactual(model, x, target, mad, *, mutable=None, eps=0.05, lam=0.1, lam_factor=2.0,
                           max_rounds=20, n_steps=100, lr=0.05):
    x = np.asarray(x, dtype=float)
    mad = np.asarray(mad, dtype=float)
    free = torch.ones(len(x), dtype=torch.bool) if mutable is None else torch.as_tensor(np.asarray(mutable, dtype=bool))
    start = torch.tensor(x / mad, dtype=torch.float32)  # the instance in MAD units
    scale = torch.tensor(mad, dtype=torch.float32)
    z = start.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([z], lr=lr)
    for _ in range(max_rounds):
        for _ in range(n_steps):
            moved = torch.where(free, z, start)
            loss = lam * (model((moved * scale)[None])[0] - target) ** 2 + torch.sum(torch.abs(moved - start))
            grad, = torch.autograd.grad(loss, [z])
            z.grad = grad
            optimizer.step()
        with torch.no_grad():
            moved = torch.where(free, z, start)
            reached = abs(float(model((moved * scale)[None])[0]) - target) <= eps
        if reached:
            break
        lam = lam * lam_factor
    change = (torch.where(free, z, start) - start).detach().double().numpy()
    return x + change * mad
'''),
    Right("minimal_cf", "minimal-cf-last-index-on-ties", '''
def minimal_counterfactual(model, x, target, mad, *, mutable=None):
    w = np.asarray(model.coef_, dtype=float).ravel()
    b = float(np.ravel(model.intercept_)[0])
    x = np.asarray(x, dtype=float)
    per_mad = np.abs(w) * np.asarray(mad, dtype=float)
    if mutable is not None:
        per_mad = np.where(np.asarray(mutable, dtype=bool), per_mad, -np.inf)
    j = len(per_mad) - 1 - int(np.argmax(per_mad[::-1]))  # the last of equally cheap features
    x_cf = x.copy()
    x_cf[j] = (np.log(target) - np.log1p(-target) - b - np.delete(w, j) @ np.delete(x, j)) / w[j]
    return x_cf
'''),
    Right("minimal_cf", "minimal-cf-pandas-in-mad-units", '''
def minimal_counterfactual(model, x, target, mad, *, mutable=None):
    w = pd.Series(model.coef_[0])
    mad = pd.Series(np.asarray(mad, dtype=float))
    x = np.asarray(x, dtype=float)
    usefulness = (w.abs() * mad)[np.ones(len(w), bool) if mutable is None else np.asarray(mutable, dtype=bool)]
    j = usefulness.idxmax()
    gap = np.log(target / (1 - target)) - (float(w @ x) + model.intercept_[0])
    u = gap / (w[j] * mad[j])  # the change of feature j in MADs
    x_cf = x.copy()
    x_cf[j] += u * mad[j]
    return x_cf
'''),
    Right("dpp", "dpp-cdist-cityblock", '''
from scipy.spatial.distance import cdist

def dpp_diversity(C, mad):
    scaled = np.asarray(C, dtype=float) / np.asarray(mad, dtype=float)
    return float(np.linalg.det(1.0 / (1.0 + cdist(scaled, scaled, "cityblock"))))
'''),
    Right("dpp", "dpp-loops", '''
def dpp_diversity(C, mad):
    k = len(C)
    K = np.ones((k, k))
    for i in range(k):
        for j in range(k):
            if i != j:
                K[i, j] = 1 / (1 + sum(abs(a - b) / m for a, b, m in zip(C[i], C[j], mad)))
    return float(np.linalg.det(K))
'''),
    Right("mmd2", "mmd2-sklearn-rbf-kernel", '''
def mmd2(X, Z, *, gamma):
    return float(rbf_kernel(X, X, gamma=gamma).mean() - 2 * rbf_kernel(X, Z, gamma=gamma).mean()
                 + rbf_kernel(Z, Z, gamma=gamma).mean())
'''),
    Right("mmd2", "mmd2-cdist-sums", '''
from scipy.spatial.distance import cdist

def mmd2(X, Z, *, gamma):
    X, Z = np.atleast_2d(X), np.atleast_2d(Z)
    n, m = len(X), len(Z)
    k = lambda A, B: np.exp(-gamma * cdist(A, B, "sqeuclidean")).sum()  # noqa: E731
    return float(k(X, X) / n**2 - 2 * k(X, Z) / (n * m) + k(Z, Z) / m**2)
'''),
    Right("greedy", "greedy-recompute-every-set", '''
def greedy_prototypes(K, n_prototypes):
    K = np.asarray(K, dtype=float)
    chosen = []
    for _ in range(n_prototypes):
        best, best_value = None, np.inf
        for c in range(len(K)):
            if c in chosen:
                continue
            S = chosen + [c]
            value = K.mean() - 2 * K[:, S].mean() + K[np.ix_(S, S)].mean()
            if value < best_value:
                best, best_value = c, value
        chosen.append(best)
    return np.array(chosen)
'''),
    Right("criticisms", "criticisms-pandas-stable-sort", '''
def criticisms(K, prototypes, n_criticisms):
    K = np.asarray(K, dtype=float)
    witness = pd.Series(K.mean(axis=0) - K[np.asarray(prototypes)].mean(axis=0))
    ranked = witness.abs().drop(index=list(prototypes)).sort_values(ascending=False, kind="stable")
    return ranked.index.to_numpy()[:n_criticisms]
'''),
    Right("criticisms", "criticisms-lexsort", '''
def criticisms(K, prototypes, n_criticisms):
    K = np.asarray(K, dtype=float)
    n = len(K)
    others = np.setdiff1d(np.arange(n), prototypes)
    witness = K[:, others].mean(axis=0) - K[np.ix_(prototypes, others)].mean(axis=0)
    order = np.lexsort((others, -np.abs(witness)))  # by |witness| descending, then by index
    return others[order][:n_criticisms]
'''),
    Right("dfbeta", "dfbeta-qr-hat-matrix", '''
def dfbeta(X, y):
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    Q, R = np.linalg.qr(X)
    beta = np.linalg.solve(R, Q.T @ y)
    e = y - X @ beta
    h = (Q**2).sum(axis=1)
    return np.linalg.solve(R, np.linalg.solve(R.T, X.T)).T * (e / (1 - h))[:, None]
'''),
    Right("influence", "influence-inverse-and-loop", '''
def influence_on_test_loss(X, y, theta, lam, x_test, y_test):
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    sigmoid = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    H = lam * np.eye(len(theta))
    for xi in X:
        s = sigmoid(xi @ theta)
        H += s * (1 - s) * np.outer(xi, xi)
    H_inv = np.linalg.inv(H)
    g_test = (sigmoid(x_test @ theta) - y_test) * np.asarray(x_test, dtype=float)
    return np.array([(sigmoid(xi @ theta) - yi) * xi @ H_inv @ g_test for xi, yi in zip(X, y)])
'''),
    Right("influence", "influence-torch-autograd-hessian", '''
def influence_on_test_loss(X, y, theta, lam, x_test, y_test):
    Xt, yt = torch.tensor(np.asarray(X, dtype=float)), torch.tensor(np.asarray(y, dtype=float))
    t = torch.tensor(np.asarray(theta, dtype=float))

    def objective(w):
        z = Xt @ w
        return (torch.nn.functional.softplus(z) - yt * z).sum() + lam / 2 * (w @ w)

    H = torch.autograd.functional.hessian(objective, t)
    per_point = (torch.sigmoid(Xt @ t) - yt)[:, None] * Xt
    xt = torch.tensor(np.asarray(x_test, dtype=float))
    g_test = (torch.sigmoid(xt @ t) - float(y_test)) * xt
    return (per_point @ torch.linalg.solve(H, g_test)).numpy()
'''),
]
