"""Framework integrations, one module per framework, each imported only when used.

- ``trainboard.integrations.transformers.TrainboardCallback`` (HF ``Trainer``)
- ``trainboard.integrations.lightning.TrainboardLogger`` (Lightning ``Trainer(logger=...)``)
- ``trainboard.integrations.keras.TrainboardCallback`` (Keras 3 ``model.fit(callbacks=...)``)
- ``trainboard.autolog()`` adds the first two to every HF / Lightning ``Trainer`` created afterwards.

Importing this package imports no framework.
"""
