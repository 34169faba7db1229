"""What pages show, without Streamlit: number and date formats, tables shaped for `st.dataframe`,
Plotly figures, and the planner's editable rows.

May import every stage below it (store, ingest, metrics, planning); never streamlit.
"""
