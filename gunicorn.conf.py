"""gunicorn settings read from the working directory: warm each worker before it serves."""


def post_worker_init(worker):
    """Load the recommender (scikit-learn, the model file, the catalogue snapshot: about 1.2 s of CPU)
    before the first visitor, so nobody waits seconds for the first recommendations page; then settle the
    worker's garbage collector (``app.worker.settle``)."""
    app = worker.wsgi
    if not hasattr(app, "app_context"):
        return
    with app.app_context():
        from app import recommender
        from app.extensions import db

        try:
            recommender.current_engine()
        except Exception:  # a missing catalogue must not keep the worker from serving other pages
            app.logger.exception("Could not warm the recommender")
        finally:
            db.session.remove()
    from app.worker import settle

    settle()
