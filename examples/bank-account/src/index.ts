export * from "./BankAccount.js"
